"""attn_utils: see what BERT's attention does.

>>> import attn_utils as au
>>> lm = au.load_model("bert-base-uncased")
>>> att = au.extract(lm, "The dog chased the cat")
>>> att.frame(layer=-1, head=0)        # rows = query, columns = key
"""
from .analysis import (
    entropy,
    head_metrics,
    head_stats,
    load_corpus,
    norm_attention,
    positional_heads,
    rollout,
    strongest_head,
    token_ablation,
)
from .doctor import doctor
from .extract import Attention, AttentionError, extract
from .html import lines_html, save_html, show_lines
from .models import (
    FallbackWarning,
    LoadedModel,
    ModelNotAvailableError,
    bundled_model_dir,
    hub_reachable,
    load_model,
)
from .probing import load_probe_set, probe_baseline, probe_heads
from .plot import (
    plot_grid,
    plot_heads,
    plot_heatmap,
    plot_lines,
    plot_query_heads,
    plot_shapes,
    style_table,
    use_japanese_font,
)
from .scratch import recompute_attention, scaled_dot_product, softmax
from .widgets import attention_toy

__version__ = "0.1.0"

__all__ = [
    "Attention",
    "AttentionError",
    "attention_toy",
    "FallbackWarning",
    "LoadedModel",
    "ModelNotAvailableError",
    "bundled_model_dir",
    "doctor",
    "entropy",
    "extract",
    "head_metrics",
    "head_stats",
    "load_corpus",
    "positional_heads",
    "probe_baseline",
    "probe_heads",
    "rollout",
    "save_html",
    "show_lines",
    "hub_reachable",
    "lines_html",
    "load_model",
    "load_probe_set",
    "norm_attention",
    "plot_grid",
    "plot_heads",
    "plot_heatmap",
    "plot_lines",
    "plot_query_heads",
    "plot_shapes",
    "recompute_attention",
    "scaled_dot_product",
    "softmax",
    "strongest_head",
    "style_table",
    "token_ablation",
    "use_japanese_font",
]
