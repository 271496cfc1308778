"""Feature extraction (strategy 3's first epoch, `forecast`, `compare_backbones`, label issues): where the time goes,
and what channels-last images (the model's weights untouched) and bfloat16 autocast give, side by side in one run on the frozen EfficientNet-Lite0 base.

Prints images/s of the forward pass alone (one preloaded batch) and of the whole extraction (decode, resize, forward)
for each variant, the largest difference of its features from float32's, and the cross-validated accuracy of a
linear probe on its features (the accuracy strategy 3 starts from).

Usage: python bench/extract_speed.py [--size 224] [--bs 32] [--data PATH]"""
import argparse, time
from contextlib import nullcontext
from pathlib import Path
import numpy as np, torch
from tlnb.core.learner import tl_learner
from tlnb.core.probe import cv_predict, probe_model
from tlnb.core.data import digits_folder
from tlnb.fastai_backend.cache import extract_features

VARIANTS = {'float32 NCHW (plain)': (False, False), 'channels-last': (True, False), 'bfloat16 autocast': (False, True),
            'channels-last + bfloat16': (True, True)}

def ctx(bf16): return torch.autocast('cpu', dtype=torch.bfloat16) if bf16 else nullcontext()

def forward_rate(base, xb, cl, bf16, reps=3)->float:
    "Images/s of the base's forward pass on the batch `xb`."
    x = xb.contiguous(memory_format=torch.channels_last) if cl else xb.contiguous()
    with torch.no_grad(), ctx(bf16):
        base(x)  # warm-up
        t = time.perf_counter()
        for _ in range(reps): base(x)
    return reps * len(x) / (time.perf_counter() - t)

def extract(learn, cl, bf16):
    "Features of the training set (validation transforms), and the seconds the whole extraction took."
    base, dl = learn.model[0], learn.dls.test_dl(learn.dls.train.items, with_labels=True)
    t = time.perf_counter()
    with ctx(bf16): x, y = extract_features(base, dl, 1, show=False, channels_last=cl)
    return x, y, time.perf_counter() - t

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'))
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=32)
    a = p.parse_args()
    data = Path(a.data) if Path(a.data).is_dir() else digits_folder()
    learn = tl_learner(data, strategy=3, size=a.size, bs=a.bs, seed=0, verbose=False)
    base = learn.model[0].eval()
    xb = learn.dls.one_batch()[0].cpu()
    print(f'{data.name}: {len(learn.dls.train_ds)} training images, efficientnet_lite0 at {a.size} px, bs {a.bs}, '
          f'{torch.get_num_threads()} threads; bfloat16 on this CPU: {torch.backends.mkldnn.is_available()} (oneDNN)', flush=True)
    rows, ref = [], None
    for name, (cl, bf16) in VARIANTS.items():
        fwd = forward_rate(base, xb, cl, bf16)
        x, y, s = extract(learn, cl, bf16)
        ref = x if ref is None else ref
        acc = float((cv_predict(probe_model(), x, y, 5, 0).argmax(1) == y).mean())
        rows.append((name, fwd, len(x) / s, float(np.abs(x - ref).max()), acc))
        print(f'{name:26s} forward {fwd:6.1f} img/s   extraction {len(x) / s:6.1f} img/s   max|Δfeature| {rows[-1][3]:.1e}   probe CV acc {acc:.4f}', flush=True)
    p0 = rows[0]
    for r in rows[1:]: print(f'{r[0]} / plain: forward {r[1] / p0[1]:.2f}x, extraction {r[2] / p0[2]:.2f}x, probe accuracy {r[4] - p0[4]:+.4f}')

if __name__ == '__main__': main()
