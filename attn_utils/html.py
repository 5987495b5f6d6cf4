"""A self-contained, interactive line view of attention (in the spirit of BertViz's head view).

Everything — data, JavaScript, CSS — is inline: the page makes no network
request, so it works offline, opened from disk, in Colab, JupyterLab and VS Code.
Weights are stored as one byte each (resolution 1/255), which keeps the page
small: the seed sentence on a 6-layer model is a few kilobytes.
"""
from __future__ import annotations

import base64
import html as html_lib
import json
import uuid
from pathlib import Path

import numpy as np

from .extract import SPECIAL_TOKENS, Attention
from .plot import PALETTE

__all__ = ["lines_html", "save_html", "show_lines"]


_CSS = """
.au-lines{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Hiragino Sans","Noto Sans CJK JP",sans-serif;font-size:13px;color:#222;background:#fff;padding:6px;max-width:100%}
.au-lines .au-bar{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin-bottom:4px}
.au-lines .au-sw{display:inline-block;width:16px;height:16px;margin:1px;border:2px solid transparent;cursor:pointer;border-radius:3px;font-size:9px;color:#fff;text-align:center;line-height:16px}
.au-lines .au-sw.off{opacity:.18}
.au-lines .au-grid{display:inline-grid;gap:1px;vertical-align:middle}
.au-lines .au-cell{width:11px;height:11px;background:#e6eef7;cursor:pointer}
.au-lines .au-cell:hover{background:#9ecae1}
.au-lines .au-cell.on{background:#08519c}
.au-lines .au-note{color:#555;font-size:12px;min-height:1.2em}
.au-lines svg text{cursor:pointer;dominant-baseline:middle}
.au-lines svg text.act{font-weight:bold;fill:#c00}
.au-lines svg text.dim{fill:#bbb}
.au-lines button{font-size:12px}
"""

_JS = r"""
(function(){
const root=document.getElementById(ROOT_ID), D=DATA;
const raw=atob(D.w), W=new Uint8Array(raw.length);
for(let i=0;i<raw.length;i++)W[i]=raw.charCodeAt(i);
const n=D.tokens.length, ROW=18, X0=D.left, X1=D.left+D.gap, PAD=8;
let layer=D.layer, heads=new Set(D.heads), pinQ=D.query, pinK=null, hovQ=null, hovK=null, hide=false;
const $=s=>root.querySelector(s), svg=$('svg'), NS=svg.namespaceURI;
const w=(l,h,q,k)=>W[((l*D.H+h)*n+q)*n+k]/255;
function el(t,a,txt){const e=document.createElementNS(NS,t);for(const k in a)e.setAttribute(k,a[k]);if(txt!=null)e.textContent=txt;return e;}
function render(){
  while(svg.firstChild)svg.removeChild(svg.firstChild);
  const vis=[...Array(n).keys()].filter(i=>!(hide&&D.special[i]));
  const pos={};vis.forEach((i,j)=>pos[i]=PAD+ROW*(j+0.5));
  svg.setAttribute('height',PAD*2+ROW*vis.length);
  svg.setAttribute('width',X1+D.left);
  const q0=hovQ!=null?hovQ:(hovK==null?pinQ:null), k0=hovK!=null?hovK:(hovQ==null?pinK:null);
  const g=el('g',{'class':'au-edges'});svg.appendChild(g);
  let drawn=0;
  for(const h of [...heads].sort((a,b)=>a-b)){
    for(const q of vis){
      if(q0!=null&&q!==q0)continue;
      let z=1;
      if(hide){z=0;for(const k of vis)z+=w(layer,h,q,k);if(z<=0)z=1;}
      for(const k of vis){
        if(k0!=null&&k!==k0)continue;
        const a=w(layer,h,q,k)/z;
        if(a<D.min)continue;
        const off=(h-(D.H-1)/2)*Math.min(1,(ROW-6)/D.H);
        const line=el('line',{x1:X0+4,y1:pos[q]+off,x2:X1-4,y2:pos[k]+off,stroke:D.colors[h%D.colors.length],'stroke-width':2,'stroke-opacity':a.toFixed(3)});
        line.appendChild(el('title',{},'layer '+layer+', head '+h+': '+D.tokens[q]+' \u2192 '+D.tokens[k]+' = '+a.toFixed(2)));
        g.appendChild(line);drawn++;
      }
    }
  }
  for(const side of [0,1]){
    for(const i of vis){
      const active=side===0?(i===q0):(i===k0);
      const t=el('text',{x:side?X1:X0,y:pos[i],'text-anchor':side?'start':'end','data-side':side,'data-i':i,'class':active?'act':((side===0?q0:k0)!=null?'dim':'')},D.tokens[i]);
      t.addEventListener('mouseenter',()=>{if(side)hovK=i;else hovQ=i;render();});
      t.addEventListener('mouseleave',()=>{hovQ=null;hovK=null;render();});
      t.addEventListener('click',()=>{if(side){pinK=pinK===i?null:i;pinQ=null;}else{pinQ=pinQ===i?null:i;pinK=null;}hovQ=hovK=null;render();});
      svg.appendChild(t);
    }
  }
  svg.setAttribute('data-lines',drawn);
  root.querySelectorAll('.au-sw').forEach(s=>s.classList.toggle('off',!heads.has(+s.dataset.h)));
  root.querySelectorAll('.au-cell').forEach(c=>c.classList.toggle('on',+c.dataset.l===layer&&heads.size===1&&heads.has(+c.dataset.h)));
  $('.au-layer').value=layer;
  const who=q0!=null?'query \u201c'+D.tokens[q0]+'\u201d: its row':(k0!=null?'key \u201c'+D.tokens[k0]+'\u201d: who looks at it':'all rows');
  $('.au-note').textContent='layer '+layer+' \u00b7 heads '+([...heads].sort((a,b)=>a-b).join(', ')||'none')+' \u00b7 '+who+
    ' \u00b7 line opacity = weight (below '+D.min+' not drawn)'+(hide?' \u00b7 [CLS]/[SEP] hidden: each row renormalised over the remaining tokens':'');
}
const sel=$('.au-layer');
for(let l=0;l<D.L;l++){const o=document.createElement('option');o.value=l;o.textContent='layer '+l;sel.appendChild(o);}
sel.addEventListener('change',()=>{layer=+sel.value;render();});
const sw=$('.au-heads');
for(let h=0;h<D.H;h++){const s=document.createElement('span');s.className='au-sw';s.dataset.h=h;s.style.background=D.colors[h%D.colors.length];s.textContent=h;s.title='head '+h+': click = only this head, shift-click = add/remove';
  s.addEventListener('click',e=>{if(e.shiftKey){heads.has(h)?heads.delete(h):heads.add(h);}else{heads=new Set([h]);}render();});sw.appendChild(s);}
$('.au-all').addEventListener('click',()=>{heads=new Set([...Array(D.H).keys()]);render();});
const grid=$('.au-grid');grid.style.gridTemplateColumns='repeat('+D.H+',11px)';
for(let l=0;l<D.L;l++)for(let h=0;h<D.H;h++){const c=document.createElement('span');c.className='au-cell';c.dataset.l=l;c.dataset.h=h;c.title='layer '+l+', head '+h;
  c.addEventListener('click',()=>{layer=l;heads=new Set([h]);render();});grid.appendChild(c);}
$('.au-hide').addEventListener('change',e=>{hide=e.target.checked;if(hide){if(pinQ!=null&&D.special[pinQ])pinQ=null;if(pinK!=null&&D.special[pinK])pinK=null;}render();});
render();
})();
"""


#: JSON inside ``<script>``: characters that could end the script or open an HTML comment
#: or CDATA section, and the line separators that older JavaScript reads as line ends.
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: object) -> str:
    """JSON that is safe to place inside a ``<script>`` element.

    ``<``, ``>``, ``&``, U+2028 and U+2029 become ``\\uXXXX`` escapes, which
    JavaScript reads back as the same characters; so a token such as
    ``</script><script>...`` stays a string and cannot end the script.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "".join(_SCRIPT_ESCAPES.get(c, c) for c in text)


def _payload(att: Attention, layer: int, heads: list[int], query: int | None, min_weight: float) -> dict:
    quant = np.clip(np.rint(att.weights * 255), 0, 255).astype(np.uint8)  # [layer, head, query, key]
    longest = max(len(t) for t in att.labels)
    return {
        "tokens": att.labels,
        "special": [t in SPECIAL_TOKENS for t in att.tokens],
        "L": att.num_layers,
        "H": att.num_heads,
        "w": base64.b64encode(quant.tobytes()).decode("ascii"),
        "layer": layer,
        "heads": heads,
        "query": query,
        "min": min_weight,
        "left": 12 + 8 * min(longest, 24),
        "gap": 260,
        "colors": PALETTE,
    }


def lines_html(att: Attention, layer: int = -1, heads: list[int] | int | None = None,
               query: str | int | None = None, min_weight: float = 0.01, title: str | None = None) -> str:
    """The interactive line view as an HTML fragment (a ``<div>`` with inline style and script).

    Args:
        att: one text's attention.
        layer: the layer shown first (change it in the page).
        heads: heads shown first (default: all, overlaid in distinct colours).
        query: a token (string or position) whose row is pinned at first.
        min_weight: lines lighter than this are not drawn (they would be invisible).

    Returns:
        HTML with no external reference: no ``http(s)://`` script, stylesheet or font.
    """
    layer = att.layer_index(layer)
    if heads is None:
        heads = list(range(att.num_heads))
    elif isinstance(heads, (int, np.integer)):
        heads = [att.head_index(int(heads))]
    else:
        heads = [att.head_index(int(h)) for h in heads]
    q = None if query is None else att.position(query)
    root_id = f"au-lines-{uuid.uuid4().hex[:12]}"  # unique even across kernel restarts
    data = script_json(_payload(att, layer, heads, q, float(min_weight)))
    caption = html_lib.escape(title or att.caption or "")  # tokens, model names and paths: never raw
    js = _JS.replace("ROOT_ID", script_json(root_id)).replace("DATA", data, 1)
    return (
        f'<div class="au-lines" id="{root_id}"><style>{_CSS}</style>'
        f'<div class="au-bar"><select class="au-layer" aria-label="layer"></select>'
        f'<span>heads <span class="au-heads"></span> <button class="au-all" type="button">all heads</button></span>'
        f'<label><input type="checkbox" class="au-hide"> hide [CLS]/[SEP]</label></div>'
        f'<div class="au-bar"><span>layer \u00d7 head (click one):</span><span class="au-grid"></span>'
        f'<span class="au-cap">{caption}</span></div>'
        f'<div class="au-note"></div><svg class="au-svg"></svg>'
        f"<script>{js}</script></div>"
    )


def save_html(att: Attention, path: str | Path, **kwargs) -> Path:
    """Write the interactive line view as a standalone page (opens from disk, offline).

    Args:
        kwargs: passed to :func:`lines_html` (layer, heads, query, min_weight, title).

    Returns:
        the path written.
    """
    path = Path(path)
    title = html_lib.escape(" ".join(att.tokens))
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>attention: {title}</title></head><body>\n{lines_html(att, **kwargs)}\n</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path


def show_lines(att: Attention, **kwargs) -> None:
    """Display the interactive line view in a notebook (Colab, JupyterLab, VS Code, classic)."""
    from IPython.display import HTML, display

    display(HTML(lines_html(att, **kwargs)))
