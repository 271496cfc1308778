"""Write README.md from nbs/index.ipynb: markdown cells as they are, visible code cells as Python blocks.

nbdev's own `nbdev-readme` renders through Quarto, a binary that cannot be installed on offline machines; this does the
same job for a README without it. Run it after editing index.ipynb (tests/test_readme.py checks the two agree)."""
import re
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parents[1]

def _code(src:str)->str|None:
    "A code cell as a Markdown block, or None when it is hidden."
    if re.search(r'^#\|\s*hide', src, re.M): return None
    src = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
    return f'```python\n{src}\n```' if src else None

def render(nb_path:Path=ROOT/'nbs'/'index.ipynb')->str:
    "The README text for `nb_path`."
    cells = nbformat.read(nb_path, as_version=4).cells
    parts = [c.source if c.cell_type == 'markdown' else _code(c.source) for c in cells]
    return '\n\n'.join(p for p in parts if p) + '\n'

if __name__ == '__main__': (ROOT/'README.md').write_text(render())
