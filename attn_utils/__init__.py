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
from .errors import (
    AmbiguousTokenError,
    AttentionError,
    AttentionIndexError,
    AttentionTypeError,
    EmptyTextError,
    ModelNotAvailableError,
    TokenNotFoundError,
    TreebankError,
)
from .extract import Attention, extract
from .html import lines_html, save_html, show_lines
from .models import (
    FallbackWarning,
    LoadedModel,
    bundled_model_dir,
    hub_reachable,
    load_model,
    load_tokenizer,
    untrained_twin,
)
from .probing import load_probe_set, probe_baseline, probe_heads, probe_holdout
from . import roles, toy
from .plot import (
    plot_grid,
    plot_heads,
    plot_heatmap,
    plot_lines,
    plot_query_heads,
    plot_shapes,
    plot_tree,
    style_table,
    use_japanese_font,
)
from .scratch import recompute_attention, scaled_dot_product, softmax
from .words import align_words, alignment_report, group_tokens, token_spans, word_spans
from .stats import binomial_interval, intervals_overlap, mcnemar_exact, split_half
from .syntax import (format_syntax_table, head_predictions, syntax_baseline, syntax_heads, syntax_paired,
                     syntax_table)
from .treebank import load_treebank
from .widgets import attention_toy

__version__ = "0.1.0"

__all__ = [
    "AmbiguousTokenError",
    "Attention",
    "AttentionError",
    "AttentionIndexError",
    "AttentionTypeError",
    "EmptyTextError",
    "TokenNotFoundError",
    "TreebankError",
    "attention_toy",
    "FallbackWarning",
    "LoadedModel",
    "ModelNotAvailableError",
    "binomial_interval",
    "bundled_model_dir",
    "doctor",
    "entropy",
    "extract",
    "group_tokens",
    "head_metrics",
    "head_stats",
    "load_corpus",
    "positional_heads",
    "probe_baseline",
    "probe_heads",
    "probe_holdout",
    "rollout",
    "save_html",
    "show_lines",
    "hub_reachable",
    "intervals_overlap",
    "mcnemar_exact",
    "lines_html",
    "load_model",
    "load_probe_set",
    "load_tokenizer",
    "norm_attention",
    "plot_grid",
    "plot_heads",
    "plot_heatmap",
    "plot_lines",
    "plot_query_heads",
    "plot_tree",
    "plot_shapes",
    "recompute_attention",
    "scaled_dot_product",
    "softmax",
    "split_half",
    "strongest_head",
    "style_table",
    "token_ablation",
    "token_spans",
    "untrained_twin",
    "use_japanese_font",
    "align_words",
    "alignment_report",
    "format_syntax_table",
    "head_predictions",
    "load_treebank",
    "syntax_baseline",
    "syntax_heads",
    "syntax_paired",
    "syntax_table",
    "word_spans",
]
