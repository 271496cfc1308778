"""#16's GPU variant: images/s and the share of the GPU's peak FLOP/s that tlnb's fastai backend reaches, for training
and for feature extraction, in under 5 minutes on one GPU. On a machine without one it runs the same steps, shorter, on
the CPU (a smoke run: `--device cpu`).

- The peak: this device's dense matrix-multiply rate, measured (float32, TF32 allowed, and bfloat16/float16), and the
  datasheet's where the device is in `DATASHEET`.
- FLOPs of one image through the model, forward and forward + backward, counted by `torch.utils.flop_counter`.
- Training steps of the whole model (strategy 1, Adam) on preloaded batches: float32; channels-last; channels-last with
  autocast to bfloat16 (or float16 with a gradient scaler where bfloat16 is not supported). Images/s, achieved TFLOP/s
  and the share of the peak.
- Feature extraction (the frozen base, strategy 3's first epoch) on preloaded batches, the same variants.
- A whole tlnb run, data loading included: `tl_learner(digits, strategy=1)`, one epoch of `fit_one_cycle` in float32,
  then with fastai's mixed precision (`to_bf16` or `to_fp16`): seconds, images/s, validation accuracy.

Usage: python bench/gpu_speed.py [--device cuda|cpu] [--size 224] [--bs 64] [--steps 30] [--arch efficientnet_lite0]"""
import argparse, time
from contextlib import nullcontext
import torch
from torch.utils.flop_counter import FlopCounterMode

DATASHEET = {'H200': (67, 989), 'H100': (67, 989), 'A100': (19.5, 312), 'L40S': (91.6, 362), 'L4': (30, 121), 'A10': (31, 125),
             'T4': (8.1, 65), 'V100': (15.7, 125)}  # name in the device name -> (float32, bfloat16/float16 dense TFLOP/s), no sparsity

def sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()

def timed(f, dev, reps):
    f(); sync(dev)  # warm-up (cuDNN's algorithm search, allocations)
    t = time.perf_counter()
    for _ in range(reps): f()
    sync(dev)
    return (time.perf_counter() - t) / reps

def matmul_tflops(dev, dtype, n)->float:
    a = torch.randn(n, n, device=dev, dtype=dtype)
    return 2 * n**3 / timed(lambda: a @ a, dev, 10) / 1e12

def half_dtype(dev):
    return torch.bfloat16 if dev.type == 'cpu' or torch.cuda.is_bf16_supported() else torch.float16

def flops(model, x, backward:bool)->float:
    "FLOPs of one pass of `x` (and its backward) through `model`, per image."
    with FlopCounterMode(display=False) as fc:
        out = model(x)
        if backward: out.float().sum().backward()
    model.zero_grad(set_to_none=True)
    return fc.get_total_flops() / len(x)

def variants(dev):
    h = half_dtype(dev)
    return {'float32': (False, None), 'channels-last': (True, None), f'channels-last + autocast {str(h)[6:]}': (True, h)}

def train_rate(model, x, y, cl, dtype, dev, reps)->float:
    "Images/s of whole-model training steps (Adam) on the batch `x`, `y`."
    model.train()
    if cl: model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    scaler = torch.amp.GradScaler(dev.type, enabled=dtype == torch.float16)
    ctx = (lambda: torch.autocast(dev.type, dtype=dtype)) if dtype else nullcontext
    def step():
        with ctx(): loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        scaler.scale(loss).backward(); scaler.step(opt); scaler.update(); opt.zero_grad(set_to_none=True)
    return len(x) / timed(step, dev, reps)

def extract_rate(base, x, cl, dtype, dev, reps)->float:
    "Images/s of the frozen base's forward pass on the batch `x`."
    base.eval()
    if cl: base, x = base.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    ctx = torch.autocast(dev.type, dtype=dtype) if dtype else nullcontext()
    with torch.no_grad(), ctx: return len(x) / timed(lambda: base(x), dev, reps)

def tlnb_run(dev, size, bs, mixed:bool):
    "One epoch of tlnb's strategy 1 on the digits, data loading included: seconds, images/s, validation accuracy."
    from tlnb.core.learner import tl_learner
    from tlnb.core.data import digits_folder
    learn = tl_learner(digits_folder(), strategy=1, size=size, bs=bs, seed=0, verbose=False)
    learn.dls.to(dev); learn.model.to(dev)
    if mixed: learn = learn.to_bf16() if half_dtype(dev) == torch.bfloat16 else learn.to_fp16()
    with learn.no_bar(), learn.no_logging():
        t = time.perf_counter(); learn.fit_one_cycle(1, 1e-3); sync(dev); s = time.perf_counter() - t
        return s, len(learn.dls.train_ds) / s, float(learn.validate()[1])

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=64)
    p.add_argument('--steps', type=int, default=30); p.add_argument('--arch', default='efficientnet_lite0')
    a = p.parse_args()
    dev = torch.device(a.device)
    if dev.type == 'cuda': torch.backends.cudnn.benchmark = True; torch.backends.cuda.matmul.allow_tf32 = True; torch.backends.cudnn.allow_tf32 = True
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU'
    n = 8192 if dev.type == 'cuda' else 1024
    h = half_dtype(dev)
    peak = {'float32': matmul_tflops(dev, torch.float32, n), 'half': matmul_tflops(dev, h, n)}
    sheet = next((v for k, v in DATASHEET.items() if k in name), None)
    print(f'{name}, torch {torch.__version__}; {a.arch} at {a.size} px, bs {a.bs}, {a.steps} timed steps')
    print(f'measured matrix-multiply peak: float32 {peak["float32"]:.1f} TFLOP/s, {str(h)[6:]} {peak["half"]:.1f} TFLOP/s'
          + (f'; datasheet: float32 {sheet[0]} TFLOP/s, {str(h)[6:]} {sheet[1]} TFLOP/s' if sheet else ''), flush=True)
    from tlnb.fastai_backend.models import tl_model
    model = tl_model(a.arch, 2).to(dev)
    x = torch.randn(a.bs, 3, a.size, a.size, device=dev); y = torch.randint(0, 2, (a.bs,), device=dev)
    f_fwd, f_train = flops(model[0], x[:2], False), flops(model, x[:2], True)
    print(f'FLOPs an image: forward (base) {f_fwd / 1e9:.2f} G, training step (forward + backward) {f_train / 1e9:.2f} G', flush=True)
    for what, rate_of, f in (('training', lambda cl, dt: train_rate(model, x, y, cl, dt, dev, a.steps), f_train),
                             ('extraction', lambda cl, dt: extract_rate(model[0], x, cl, dt, dev, a.steps), f_fwd)):
        for v, (cl, dt) in variants(dev).items():
            r = rate_of(cl, dt); tf = r * f / 1e12
            pk = peak['half'] if dt else peak['float32']
            print(f'{what:10s} {v:34s} {r:8.1f} img/s  {tf:7.2f} TFLOP/s  {tf / pk:6.1%} of the measured peak'
                  + (f', {tf / (sheet[1] if dt else sheet[0]):6.1%} of the datasheet\'s' if sheet else ''), flush=True)
        model.to(memory_format=torch.contiguous_format)
    size = a.size if dev.type == 'cuda' else 32
    for mixed in (False, True):
        s, r, acc = tlnb_run(dev, size, a.bs, mixed)
        print(f'tlnb strategy 1, digits at {size} px, one epoch, {"mixed precision" if mixed else "float32"}: {s:.1f} s, {r:.0f} img/s, accuracy {acc:.4f}', flush=True)

if __name__ == '__main__': main()
