"""Feature extraction (strategy 3's first epoch, `forecast`, `compare_backbones`, label issues): where the time goes,
and what channels-last images (the model's weights untouched), ONNX Runtime (tlnb's default on CPUs from
`ORT_MIN_IMAGES` images) and bfloat16 autocast (only where the CPU has native bfloat16) give, side by side in one run
on the frozen EfficientNet-Lite0 base.

Prints images/s of the forward pass alone (one preloaded batch) and of the whole extraction (decode, resize, forward;
for ONNX Runtime, the export included) for each variant, the largest difference of its features from float32's, and
the cross-validated accuracy of a linear probe on its features (the accuracy strategy 3 starts from). Then the
ceiling: this CPU's float32 matrix-multiply rate over the base's 0.8 GFLOP a 224 px image.

With `--backend keras`: the Keras backend's extraction, Keras' own `predict` (its graph traced, as the Keras
transfer-learning guide does it) against ONNX Runtime (tf2onnx's conversion included).

Usage: python bench/extract_speed.py [--size 224] [--bs 32] [--data PATH] [--backend fastai|keras]"""
import argparse, time
from contextlib import nullcontext
from pathlib import Path
import numpy as np, torch
from tlnb.core.learner import tl_learner
from tlnb.core.probe import cv_predict, probe_model
from tlnb.core.data import digits_folder
from tlnb.fastai_backend.cache import extract_features, ort_session, native_bf16
from tlnb.core.cache import ONNX_BASES

BF16 = native_bf16(torch.device('cpu'))  # AVX512-BF16 or AMX; emulated, bfloat16 is ~7x slower
VARIANTS = {'float32 NCHW (plain)': ('torch', False, False), 'channels-last': ('torch', True, False),
            'onnxruntime (tlnb)': ('onnxruntime', False, False)}
if BF16: VARIANTS |= {'bfloat16 autocast': ('torch', False, True), 'channels-last + bfloat16': ('torch', True, True)}
LITE0_GFLOP = 0.8  # multiply-adds x 2 of one 224 px image through EfficientNet-Lite0's base

def ctx(bf16): return torch.autocast('cpu', dtype=torch.bfloat16) if bf16 else nullcontext()

def forward_rate(base, xb, engine, cl, bf16, reps=3)->float:
    "Images/s of the base's forward pass on the batch `xb`."
    x = xb.contiguous(memory_format=torch.channels_last) if cl else xb.contiguous()
    if engine == 'onnxruntime':
        s, a = ort_session(base, tuple(xb.shape[-2:])), xb.numpy()
        base = lambda _: s.run(None, {'x': a})
    with torch.no_grad(), ctx(bf16):
        base(x)  # warm-up
        t = time.perf_counter()
        for _ in range(reps): base(x)
    return reps * len(x) / (time.perf_counter() - t)

def extract(learn, engine, cl, bf16):
    "Features of the training set (validation transforms), and the seconds the whole extraction took (ONNX Runtime: its export included)."
    base, dl = learn.model[0], learn.dls.test_dl(learn.dls.train.items, with_labels=True)
    ONNX_BASES.clear()
    t = time.perf_counter()
    with ctx(bf16): x, y = extract_features(base, dl, 1, show=False, channels_last=cl, engine=engine)
    return x, y, time.perf_counter() - t

def matmul_gflops(n=2048, reps=5)->float:
    "This CPU's float32 matrix-multiply rate, GFLOP/s."
    a = torch.randn(n, n); a @ a
    t = time.perf_counter()
    for _ in range(reps): a @ a
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'))
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--backend', default='fastai', choices=['fastai', 'keras'])
    a = p.parse_args()
    data = Path(a.data) if Path(a.data).is_dir() else digits_folder()
    if a.backend == 'keras': return keras_main(a, data)
    learn = tl_learner(data, strategy=3, size=a.size, bs=a.bs, seed=0, verbose=False)
    base = learn.model[0].eval()
    xb = learn.dls.one_batch()[0].cpu()
    print(f'{data.name}: {len(learn.dls.train_ds)} training images, efficientnet_lite0 at {a.size} px, bs {a.bs}, '
          f'{torch.get_num_threads()} threads; native bfloat16: {BF16}', flush=True)
    rows, ref = [], None
    for name, (engine, cl, bf16) in VARIANTS.items():
        x, y, s = extract(learn, engine, cl, bf16)
        fwd = forward_rate(base, xb, engine, cl, bf16)
        ref = x if ref is None else ref
        acc = float((cv_predict(probe_model(), x, y, 5, 0).argmax(1) == y).mean())
        rows.append((name, fwd, len(x) / s, float(np.abs(x - ref).max()), acc))
        print(f'{name:26s} forward {fwd:6.1f} img/s   extraction {len(x) / s:6.1f} img/s   max|Δfeature| {rows[-1][3]:.1e}   probe CV acc {acc:.4f}', flush=True)
    p0 = rows[0]
    for r in rows[1:]: print(f'{r[0]} / plain: forward {r[1] / p0[1]:.2f}x, extraction {r[2] / p0[2]:.2f}x, probe accuracy {r[4] - p0[4]:+.4f}')
    g = matmul_gflops()
    if a.size == 224:
        ceil = g / LITE0_GFLOP
        print(f'ceiling: float32 matrix multiply {g:.0f} GFLOP/s / {LITE0_GFLOP} GFLOP an image = {ceil:.0f} img/s; '
              + ', '.join(f'{r[0]} forward {r[1] / ceil:.0%}' for r in rows))

def keras_main(a, data):
    "The Keras backend's first extraction of the training set: Keras' predict against ONNX Runtime."
    from tlnb.core.cache import FEATURES
    learn = tl_learner(data, strategy=3, backend='keras', size=a.size, bs=a.bs, seed=0, verbose=False)
    print(f'{data.name}: {len(learn.dls.train.files)} training images, efficientnet_lite0 (Keras) at {a.size} px, bs {a.bs}', flush=True)
    rows, ref = [], None
    for name, engine in (('keras predict (plain)', 'keras'), ('onnxruntime (tlnb)', 'onnxruntime')):
        FEATURES.clear(); ONNX_BASES.clear(); learn.extract_engine = engine
        t = time.perf_counter(); x, y = learn.features('train', passes=1); s = time.perf_counter() - t
        ref = x if ref is None else ref
        acc = float((cv_predict(probe_model(), x, y, 5, 0).argmax(1) == y).mean())
        rows.append((name, len(x) / s, acc))
        print(f'{name:26s} extraction {len(x) / s:6.1f} img/s ({s:.1f} s, conversion or tracing included)   max|Δfeature| {np.abs(x - ref).max():.1e}   probe CV acc {acc:.4f}', flush=True)
    print(f'{rows[1][0]} / plain: extraction {rows[1][1] / rows[0][1]:.2f}x, probe accuracy {rows[1][2] - rows[0][2]:+.4f}')

if __name__ == '__main__': main()
