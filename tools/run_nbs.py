"""Run notebooks top to bottom in a real kernel and keep their outputs: the notebooks are the docs, and GitHub and the
docs site show what they stored.

    python tools/run_nbs.py                      # every notebook in nbs/ (a few minutes each on 2 CPU cores)
    python tools/run_nbs.py nbs/41_panels.ipynb  # some

Outputs are tidied so that diffs stay readable: progress bars (fastprogress's HTML) and outputs left empty are dropped,
hidden cells (the tests) keep no output, widget state is not stored (each tlnb widget output carries its own static picture beside the widget view), execution
metadata goes, and `nbdev-clean` runs at the end. A notebook that fails is left as it was, and the command exits 1."""
import re, subprocess, sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
_PROGRESS = re.compile(r'<progress|\bprogress-bar\b')

def _tidy(output:dict)->dict|None:
    "The output to keep, or None: progress bars and empty displays dropped."
    if output.get('output_type') in ('display_data', 'execute_result'):
        d = output.get('data', {})
        html = ''.join(d.get('text/html', ''))
        if html and _PROGRESS.search(html):
            html = re.sub(r'<div>\s*<progress.*?</div>', '', html, flags=re.S)  # the bar; fastai's epoch table stays
            if '<table' not in html: return None
            d['text/html'] = html
        if 'text/html' in d and not html.strip() and ''.join(d.get('text/plain', '')).startswith('<IPython.core.display.HTML'):
            return None  # a finished progress bar leaves an empty HTML display behind
        if not any(''.join(v).strip() if isinstance(v, (str, list)) else v for v in d.values()): return None
    if output.get('output_type') == 'stream' and not ''.join(output.get('text', '')).strip(): return None
    return output

def run(nb_path:Path, timeout:int=900)->float:
    "Execute `nb_path` in its folder, tidy and save its outputs; the seconds it took."
    nb = nbformat.read(nb_path, as_version=4)
    t = time.time()
    NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(nb_path.parent)}},
                   store_widget_state=False, record_timing=False).execute()
    for c in nb.cells:
        if c.cell_type != 'code': continue
        hidden = re.search(r'^#\|\s*hide\b', c.source, re.M)  # tests: what they print is not documentation
        c.outputs = [] if hidden else [o for o in (_tidy(o) for o in c.outputs) if o is not None]
    nb.metadata.pop('widgets', None)
    nbformat.write(nb, nb_path)
    return time.time() - t

def main(paths:list[str]):
    nbs = [Path(p).resolve() for p in paths] or sorted((ROOT/'nbs').rglob('*.ipynb'))
    failed = []
    for p in nbs:
        if '.ipynb_checkpoints' in p.parts: continue
        try: print(f'{p.relative_to(ROOT)}: {run(p):.0f} s', flush=True)
        except Exception as e:
            failed.append(p); print(f'{p.relative_to(ROOT)}: FAILED\n{str(e)[-2000:]}', flush=True)
    here = Path(sys.executable).parent/'nbdev-clean'  # this Python's own, when its environment's bin is not on PATH
    subprocess.run([str(here) if here.exists() else 'nbdev-clean'], cwd=ROOT, check=False)
    if failed: sys.exit(f'{len(failed)} notebook(s) failed: ' + ', '.join(p.name for p in failed))

if __name__ == '__main__': main(sys.argv[1:])
