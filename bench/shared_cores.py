"""Sharing the CPU with other processes: what tlnb's thread choices give on a quiet machine and with one other busy
process (a Python loop spinning on one core, as a second notebook training would), side by side in one run.

- Training, fastai backend: PyTorch's threads fixed at the cores' count (plain fastai) against `ShareCores` (tlnb's
  default: the threads follow the cores the other processes leave free). Seconds of one epoch of strategy 2 (what
  `tlnb demo` trains), and its accuracy.
- Feature extraction in ONNX Runtime (strategy 3's first epoch, both sets): idle threads spinning (ONNX Runtime's
  default) against sleeping (tlnb's). Images/s.

Each measurement runs in a process of its own. Timings on a shared machine move: compare the ratios of one run.

Usage: python bench/shared_cores.py [--data PATH] [--size 64] [--epochs 1] [--extract-data PATH] [--extract-size 224]
       (--data: the folder trained on, default scikit-learn's digits as `tlnb demo`; --extract-data: the folder
       extracted, default the hymenoptera data where ../shared/data has it, else --data)"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

HOG = 'while True: pass'
HYM = Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'

def fit_child(a):
    "Seconds per epoch of strategy 2, and the accuracy, with `ShareCores` on or off."
    import torch
    from fastai.callback.core import Callback
    from tlnb.core.learner import tl_learner
    from tlnb.fastai_backend.learner import ShareCores
    learn = tl_learner(a.data, strategy=2, size=a.size, bs=32, seed=0, verbose=False)
    if a.variant == 'fixed': learn.remove_cb(ShareCores)
    else: learn.share_cores.every = a.every
    least = []
    class Threads(Callback):
        def after_batch(self): least.append(torch.get_num_threads())
    learn.add_cb(Threads())
    t = time.perf_counter()
    with learn.quiet(): learn.fit_one_cycle(a.epochs, 3e-3)
    s = (time.perf_counter() - t) / a.epochs
    return dict(value=s, acc=float(learn.validate()[1]), threads=min(least))

def extract_child(a):
    "Images/s of ONNX Runtime's first extraction of both sets, its threads spinning or sleeping."
    from tlnb.core.learner import tl_learner
    from tlnb.core.cache import ONNX_BASES
    from tlnb.fastai_backend.cache import extract_features
    ONNX_BASES.spin = a.variant == 'spinning'
    learn = tl_learner(a.extract_data, strategy=3, size=a.extract_size, bs=32, seed=0, verbose=False)
    dls = [learn.dls.test_dl(dl.items, with_labels=True) for dl in (learn.dls.train, learn.dls.valid)]
    t = time.perf_counter()
    n = sum(len(extract_features(learn.model[0], dl, 1, show=False, engine='onnxruntime')[0]) for dl in dls)
    return dict(value=n / (time.perf_counter() - t))

CHILDREN = {'fit': fit_child, 'extract': extract_child}
ROWS = {'fit': [('fixed', 'threads fixed (plain fastai)'), ('shared', 'ShareCores (tlnb)')],
        'extract': [('spinning', "threads spinning (ONNX Runtime's default)"), ('sleeping', 'threads sleeping (tlnb)')]}

def measure(a, what, variant)->dict:
    cmd = [sys.executable, __file__, '--child', what, '--variant', variant, '--data', str(a.data), '--size', str(a.size),
           '--epochs', str(a.epochs),
           '--extract-data', str(a.extract_data), '--extract-size', str(a.extract_size), '--every', str(a.every)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    line = next((l for l in p.stdout.splitlines() if l.startswith('ROW ')), None)
    if line is None: sys.exit(f'{what} {variant} failed:\n{p.stderr[-3000:]}')
    return json.loads(line[4:])

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', type=Path); p.add_argument('--size', type=int, default=64)
    p.add_argument('--epochs', type=int, default=1); p.add_argument('--extract-size', type=int, default=224)
    p.add_argument('--extract-data', type=Path)
    p.add_argument('--every', type=float, default=2., help="ShareCores' window, seconds")
    p.add_argument('--child', choices=list(CHILDREN), help=argparse.SUPPRESS); p.add_argument('--variant', help=argparse.SUPPRESS)
    a = p.parse_args()
    for k in ('data', 'extract_data'):
        if getattr(a, k) is not None and not getattr(a, k).is_dir():
            sys.exit(f"--{k.replace('_', '-')} {getattr(a, k)}: no such folder; pass an image folder (one sub-folder per class), or leave it out")
    if a.data is None:
        from tlnb.core.data import digits_folder
        a.data = digits_folder()
    if a.extract_data is None: a.extract_data = HYM if HYM.is_dir() else a.data
    if a.child: return print('ROW ' + json.dumps(CHILDREN[a.child](a)), flush=True)
    print(f'{os.cpu_count()} cores; training on {a.data}, extracting {a.extract_data}; the busy process: `{HOG}`, one core', flush=True)
    res = {}
    for busy in (False, True):
        hog = subprocess.Popen([sys.executable, '-c', HOG]) if busy else None
        try:
            for what, rows in ROWS.items():
                for v, _ in rows: res[what, v, busy] = measure(a, what, v)
        finally:
            if hog: hog.kill(); hog.wait()
    heads = {'fit': f'fastai, strategy 2 at {a.size} px, seconds an epoch (accuracy; fewest threads used)',
             'extract': f'feature extraction in ONNX Runtime at {a.extract_size} px, both sets, images/s'}
    print(f'{"":44s} {"quiet":>24s} {"one busy process":>24s}')
    for what, rows in ROWS.items():
        print(heads[what])
        for v, name in rows:
            cells = [res[what, v, b] for b in (False, True)]
            fmt = (lambda r: f"{r['value']:6.1f} s ({r['acc']:.4f}; {r['threads']})") if what == 'fit' else (lambda r: f"{r['value']:6.1f} img/s")
            print(f'  {name:42s} ' + ' '.join(f'{fmt(r):>24s}' for r in cells))
        (pv, _), (tv, _) = rows
        gain = [(res[what, pv, b]['value'] / res[what, tv, b]['value']) ** (1 if what == 'fit' else -1) for b in (False, True)]
        print(f'  {"tlnb / plain, times as fast":42s} ' + ' '.join(f'{g:>23.2f}x' for g in gain))
    for v, _ in ROWS['fit']:
        print(f"{v}: the busy process made an epoch {res['fit', v, True]['value'] / res['fit', v, False]['value']:.2f}x slower")

if __name__ == '__main__': main()
