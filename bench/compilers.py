"""Compilers on this CPU, side by side with what tlnb runs, in one run: `torch.compile` (Inductor) for PyTorch, XLA
(`jit_compile=True`) for Keras. The evidence behind two choices of #16: tlnb runs PyTorch eagerly (and the frozen base
in ONNX Runtime), and compiles Keras models with `jit_compile=False`.

Prints, for EfficientNet-Lite0 (offline weights), a batch of `--bs` images at `--size` px:
- PyTorch: seconds of the base's forward pass (eager, compiled, ONNX Runtime) and of a whole-model training step
  (eager, compiled), tlnb's channels-last float32; each compiled row with the seconds its compilation took;
- Keras: seconds of a whole-model training step without and with XLA, and of its first step (tracing, compiling).

Usage: python bench/compilers.py [--size 224] [--bs 32] [--reps 5] [--data PATH] [--parts torch keras]"""
import argparse, sys, time
from pathlib import Path
import torch, torchvision  # torch first: torchvision imported after TensorFlow crashes
sys.path.insert(0, str(Path(__file__).parent))
from precision import step_time, torch_batch, forward, train_step, keras_model
from tlnb.fastai_backend.cache import ort_session

def timed(f)->float:
    t = time.perf_counter(); f(); return time.perf_counter() - t

def compiled(label, eager, comp, first)->str:
    "A row: eager and compiled seconds, their ratio, the compilation's seconds and, if it pays, after how many steps."
    pays = f', paid back after {first / (eager - comp):.0f} steps' if comp < eager else ''
    return f'  {label:28s} eager {eager:.3f} s   torch.compile {comp:.3f} s ({eager / comp:.2f}x; compiling {first:.0f} s{pays})'

def torch_part(a):
    "Forward and training-step seconds, eager against torch.compile (and ONNX Runtime for the forward pass)."
    model, xb, yb, opt = torch_batch(a)
    base = model[0]
    print(f'PyTorch {torch.__version__}, a batch of {a.bs} at {a.size} px, {torch.get_num_threads()} threads:', flush=True)
    model.eval()
    s, x = ort_session(base, (a.size, a.size)), xb.contiguous().numpy()
    ort = step_time(lambda: s.run(None, {'x': x}), a.reps)
    row, eager = compare('forward (base)', lambda m: forward(m, xb), base, a.reps)
    print(row + f'   ONNX Runtime {ort:.3f} s ({eager / ort:.2f}x)', flush=True)
    model.train()
    print(compare('training step (whole model)', lambda m: train_step(m, opt, xb, yb), model, a.reps)[0], flush=True)

def compare(label, step, m, reps)->tuple[str, float]:
    "The row of `step(m)` eager against `step(torch.compile(m))`, and the eager seconds."
    eager = step_time(lambda: step(m), reps)
    cm = torch.compile(m); first = timed(lambda: step(cm))
    return compiled(label, eager, step_time(lambda: step(cm), reps), first), eager

def keras_part(a):
    "Whole-model training-step seconds with jit_compile False (tlnb) and True (XLA)."
    import keras
    print(f'Keras {keras.__version__}, a whole-model training step, batch of {a.bs} at {a.size} px:', flush=True)
    res = {}
    for xla in (False, True):
        m, x, y = keras_model(a, jit_compile=xla)
        first = timed(lambda: m.train_on_batch(x, y))
        res[xla] = step_time(lambda: m.train_on_batch(x, y), a.reps, warm=1)
        print(f'  jit_compile={str(xla):5s} {"(XLA) " if xla else "(tlnb)"} first step {first:5.1f} s   later steps {res[xla]:.3f} s'
              + (f'   {res[False] / res[True]:.2f}x' if xla else ''), flush=True)

PARTS = {'torch': torch_part, 'keras': keras_part}

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'))
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=32); p.add_argument('--reps', type=int, default=5)
    p.add_argument('--parts', nargs='+', default=list(PARTS), choices=list(PARTS))
    a = p.parse_args()
    if not Path(a.data).is_dir(): raise SystemExit(f'{a.data}: no such folder; pass --data PATH (a folder with train/ and val/)')
    for part in a.parts: PARTS[part](a)

if __name__ == '__main__': main()
