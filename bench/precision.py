"""bfloat16 on this CPU, side by side with float32 in one run: what it gives PyTorch and TensorFlow, and what it costs
strategy 3's accuracy. The evidence behind two choices of #16: tlnb's extraction is ONNX Runtime in float32 by default,
with PyTorch under bfloat16 autocast (`engine='torch-bf16'`) opt-in; and the Keras backend trains in float32.

Prints, on the frozen or training EfficientNet-Lite0 (offline weights):
- PyTorch: seconds a batch of the base's forward pass and of a whole-model training step (tlnb's channels-last
  float32 against bfloat16 autocast);
- extraction of the training and validation sets in images/s: tlnb's default ('auto', ONNX Runtime) against
  'torch-bf16', and how much their features differ;
- strategy 3's validation accuracy with each engine's features (`--epochs` one-cycle epochs at `tlnb train`'s rate,
  each seed), on the hymenoptera data and on scikit-learn's digits; for bfloat16, also the accuracy of its head on
  float32 features, what the exported model (float32) computes;
- Keras: seconds a whole-model training step with BatchNorm training, with BatchNorm in inference mode (what
  `fine_tune(frozen_bn=True)` does), and under the `mixed_bfloat16` policy.

Without native bfloat16 (AVX512-BF16 or AMX) it says so and measures float32 only: emulated bfloat16 is several
times slower, and tlnb warns if asked for it there.

Usage: python bench/precision.py [--size 224] [--bs 32] [--epochs 5] [--seeds 0 1 2] [--digits-size 64] [--data PATH] [--parts torch s3 keras]"""
import argparse, time
from pathlib import Path
import numpy as np, torch, torchvision  # torch first: torchvision imported after TensorFlow crashes
from tlnb.core.learner import tl_learner
from tlnb.core.data import digits_folder
from tlnb.core.specs import HEADS
from tlnb.core.cache import FEATURES, ONNX_BASES
from tlnb.cli import lr_for
from tlnb.fastai_backend.cache import BF16_ENGINE, native_bf16

ENGINES = {'float32 (tlnb default)': 'auto', 'bfloat16 (torch-bf16)': BF16_ENGINE}

def step_time(f, reps:int=5, warm:int=2)->float:
    "Mean seconds of `f()` after `warm` calls."
    for _ in range(warm): f()
    t = time.perf_counter()
    for _ in range(reps): f()
    return (time.perf_counter() - t) / reps

def torch_batch(a):
    "tlnb's strategy-1 model on `a.data`, one training batch as plain channels-last tensors (as in a training loop), and an optimizer."
    learn = tl_learner(a.data, strategy=1, size=a.size, bs=a.bs, seed=0, verbose=False)
    model, (xb, yb) = learn.model, learn.dls.one_batch()
    xb, yb = xb.as_subclass(torch.Tensor).contiguous(memory_format=torch.channels_last), yb.as_subclass(torch.Tensor)
    return model, xb, yb, torch.optim.Adam(model.parameters(), 1e-4)

def forward(m, xb, bf16:bool=False):
    "One forward pass of `m` (in inference mode) on `xb`."
    with torch.no_grad(), torch.autocast('cpu', torch.bfloat16, enabled=bf16): m(xb)

def train_step(model, opt, xb, yb, bf16:bool=False):
    "One training step of `model` on `xb`, `yb`."
    opt.zero_grad()
    with torch.autocast('cpu', torch.bfloat16, enabled=bf16): loss = torch.nn.functional.cross_entropy(model(xb).float(), yb)
    loss.backward(); opt.step()

def torch_part(a, bf16:bool):
    "Forward and training-step seconds a batch, float32 against bfloat16 autocast."
    model, xb, yb, opt = torch_batch(a)
    print(f'PyTorch, a batch of {a.bs} at {a.size} px, {torch.get_num_threads()} threads:')
    for what, f, mode in (('forward (base)', lambda on: forward(model[0], xb, on), model.eval),
                          ('training step (whole model)', lambda on: train_step(model, opt, xb, yb, on), model.train)):
        mode()
        r = {p: step_time(lambda: f(p)) for p in ((False, True) if bf16 else (False,))}
        print(f'  {what:28s} float32 {r[False]:.3f} s' + (f'   bfloat16 autocast {r[True]:.3f} s   {r[False] / r[True]:.2f}x' if bf16 else ''), flush=True)

def extraction(data, size, bs, engine):
    "Images/s of extracting both sets of `data` with `engine` (a fresh learner: the conversion to ONNX included), and the features."
    FEATURES.clear(); ONNX_BASES.clear()
    learn = tl_learner(data, strategy=3, size=size, bs=bs, seed=0, verbose=False)
    learn.feature_cache.engine = engine
    with learn.quiet(): t = time.perf_counter(); x = [learn.features(s, passes=1)[0] for s in ('train', 'valid')]; s = time.perf_counter() - t
    return sum(map(len, x)) / s, np.concatenate(x)

def s3_accuracy(data, size, bs, engine, seed, epochs)->tuple[float, float]:
    "Strategy 3's validation accuracy on features of `engine` after `epochs` one-cycle epochs at `tlnb train`'s rate; then on float32 features (as the exported model, which runs in float32, sees them)."
    learn = tl_learner(data, strategy=3, size=size, bs=bs, seed=seed, verbose=False)
    learn.feature_cache.engine = engine
    with learn.quiet():
        learn.fit_one_cycle(epochs, lr_for(learn, HEADS[learn.head].lr)); acc = float(learn.validate()[1])
        learn.feature_cache.engine = 'auto'; return acc, float(learn.validate()[1])

def s3_part(a, bf16:bool):
    "Extraction speed and strategy 3's accuracy, float32 against bfloat16 features."
    engines = ENGINES if bf16 else dict(list(ENGINES.items())[:1])
    for name, data, size in (('hymenoptera', a.data, a.size), ('digits', digits_folder(), a.digits_size)):
        print(f'{name}, {size} px: extraction of both sets, then strategy 3 ({a.epochs} epochs) for seeds {a.seeds}', flush=True)
        accs, feats, rates = {}, {}, {}
        for label, engine in engines.items():
            rates[engine], feats[engine] = extraction(data, size, a.bs, engine)  # also leaves the features in memory for the seeds
            accs[label], f32 = zip(*(s3_accuracy(data, size, a.bs, engine, seed, a.epochs) for seed in a.seeds))
            print(f'  {label:24s} extraction {rates[engine]:6.1f} img/s   accuracy {np.mean(accs[label]):.4f}  ({" ".join(f"{v:.4f}" for v in accs[label])})'
                  + (f'   on float32 features {np.mean(f32):.4f}' if engine != 'auto' else ''), flush=True)
        if bf16:
            (f32, b16), (rf, rb) = (feats['auto'], feats[BF16_ENGINE]), (rates['auto'], rates[BF16_ENGINE])
            (l32, a32), (l16, a16) = ((k, np.mean(v)) for k, v in accs.items())
            print(f'  bfloat16 / float32: features differ by {np.linalg.norm(b16 - f32) / np.linalg.norm(f32):.1e} (relative norm; largest entry '
                  f'{np.abs(b16 - f32).max() / np.abs(f32).max():.1e} of the largest), extraction {rb / rf:.2f}x, accuracy {100 * (a16 - a32):+.2f} points', flush=True)

def keras_model(a, policy:str='float32', frozen_bn:bool=False, jit_compile:bool=False):
    "tlnb's strategy-1 Keras model built under `policy`, compiled for `train_on_batch`, and a random batch for it."
    import keras
    from tlnb.keras_backend.learner import _freeze_bn  # what fine_tune(frozen_bn=True) does
    keras.mixed_precision.set_global_policy(policy)
    try:
        learn = tl_learner(a.data, strategy=1, backend='keras', size=a.size, bs=a.bs, seed=0, verbose=False)
        if frozen_bn: _freeze_bn(learn)
    finally: keras.mixed_precision.set_global_policy('float32')
    m = learn.model
    m.compile(optimizer=keras.optimizers.Adam(1e-4), loss=keras.losses.SparseCategoricalCrossentropy(), jit_compile=jit_compile)
    x = np.random.default_rng(0).uniform(0, 255, (a.bs, a.size, a.size, 3)).astype('float32')
    return m, x, np.arange(a.bs) % m.output_shape[-1]

def keras_part(a, bf16:bool):
    "Keras whole-model training-step seconds: BatchNorm training, BatchNorm in inference mode, mixed_bfloat16."
    def step(**kw): m, x, y = keras_model(a, **kw); return step_time(lambda: m.train_on_batch(x, y))
    print(f'Keras, a whole-model training step, batch of {a.bs} at {a.size} px:', flush=True)
    bn = step(); print(f'  float32, BatchNorm training           {bn:.3f} s', flush=True)
    inf = step(frozen_bn=True); print(f'  float32, BatchNorm in inference mode  {inf:.3f} s   {bn / inf:.2f}x', flush=True)
    if bf16: mp = step(policy='mixed_bfloat16'); print(f'  mixed_bfloat16, BatchNorm training    {mp:.3f} s   {bn / mp:.2f}x', flush=True)

PARTS = {'torch': torch_part, 's3': s3_part, 'keras': keras_part}

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'))
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--epochs', type=int, default=5); p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--digits-size', type=int, default=64)
    p.add_argument('--parts', nargs='+', default=list(PARTS), choices=list(PARTS))
    a = p.parse_args()
    if not Path(a.data).is_dir(): raise SystemExit(f'{a.data}: no such folder; pass --data PATH (a folder with train/ and val/)')
    bf16 = native_bf16(torch.device('cpu'))
    print(f'native bfloat16 on this CPU: {bf16}' + ('' if bf16 else ' (float32 only: emulated bfloat16 is several times slower)'), flush=True)
    for part in a.parts: PARTS[part](a, bf16)

if __name__ == '__main__': main()
