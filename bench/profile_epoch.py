"""Where one epoch's time goes, stage by stage, on the hymenoptera data (EfficientNet-Lite0, 224 px, bs 32): the
#16 profile that says which speed-up can pay.

For one epoch of tlnb's strategy 1 and strategy 2 (the fastai backend), a callback times each batch's stages:
loading (decode, resize and collate, between batches), the batch transforms (`after_batch`: to float, normalise),
forward, loss, backward, optimiser step; validation is timed as one block. Then the same files' decoding alone
(`load_rgb`, full size) and resizing alone (PIL, to 224), the first strategy-3 epoch's feature extraction (images per
second), and the size-similarity measurement. All in one run: compare the shares, not the seconds across machines.

Usage: python bench/profile_epoch.py [--data PATH] [--size 224] [--bs 32]"""
import argparse, time
from collections import defaultdict
from pathlib import Path
from PIL import Image
from fastai.vision.all import Callback
from tlnb.core.data import load_rgb, scan_folder, split_items
from tlnb.core.similarity import size_similarity
from tlnb.core.learner import tl_learner

class StageTimes(Callback):
    "Seconds spent in each stage of the training batches of a fit (and validation as a whole)."
    order = -100  # first at each event: the clock starts before the other callbacks' work
    def before_fit(self): self.t, self.last, self.n = defaultdict(float), None, 0
    def _lap(self, stage):
        now = time.perf_counter()
        if self.last is not None: self.t[stage] += now - self.last
        self.last = now
    def before_train(self): self.last = time.perf_counter()
    def before_batch(self): self._lap('loading (decode, resize, collate)'); self.n += 1
    def after_pred(self): self._lap('forward')
    def after_loss(self): self._lap('loss')
    def before_backward(self): self._lap('callbacks before backward')
    def after_backward(self): self._lap('backward')
    def after_step(self): self._lap('optimiser step')
    def after_batch(self): self._lap('callbacks after the step')
    def before_validate(self): self.v0 = time.perf_counter()
    def after_validate(self): self.t['validation (whole)'] += time.perf_counter() - self.v0

class BatchTfmTime:
    "Wraps a loader's `after_batch` to time the batch transforms (run inside 'loading')."
    def __init__(self, f): self.f, self.secs = f, 0.
    def __call__(self, b):
        t = time.perf_counter(); r = self.f(b); self.secs += time.perf_counter() - t; return r

def profile(path, strategy, size, bs):
    learn = tl_learner(path, strategy=strategy, size=size, bs=bs, seed=0, verbose=False)
    dl = learn.dls.train
    bt = BatchTfmTime(dl.after_batch); dl.after_batch = bt
    cb = StageTimes()
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, slice(1e-4, 1e-3), cbs=cb)
    total = time.perf_counter() - t
    times = dict(cb.t); times['loading (decode, resize, collate)'] -= bt.secs; times['batch transforms (after_batch)'] = bt.secs
    return total, times, cb.n

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'))
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=32)
    a = p.parse_args()
    split = split_items(scan_folder(a.data), seed=0)
    files = [f for f, _ in split.train]
    print(f'{Path(a.data).name}: {len(files)} training images, efficientnet_lite0 {a.size}px, bs {a.bs}, one epoch each\n', flush=True)
    for s in (1, 2):
        total, times, n = profile(a.data, s, a.size, a.bs)
        print(f'strategy {s}: {total:.1f} s for the epoch ({n} training batches, then validation)')
        for k, v in sorted(times.items(), key=lambda kv: -kv[1]): print(f'  {k:36s} {v:6.2f} s  {100 * v / total:5.1f}%')
        print(flush=True)
    t = time.perf_counter(); ims = [load_rgb(f) for f in files]; dec = time.perf_counter() - t
    t = time.perf_counter(); [im.resize((a.size, a.size), Image.BILINEAR) for im in ims]; rs = time.perf_counter() - t
    print(f'decoding alone (load_rgb, full size): {dec:.2f} s, {len(files) / dec:.0f} img/s; '
          f'resizing alone (PIL, to {a.size}): {rs:.2f} s, {len(files) / rs:.0f} img/s')
    learn = tl_learner(a.data, strategy=3, size=a.size, bs=a.bs, seed=0, verbose=False, cache=True)
    with learn.no_bar(): t = time.perf_counter(); x, _ = learn.features('train', passes=1); ex = time.perf_counter() - t
    print(f'strategy 3, first epoch: feature extraction {ex:.1f} s, {len(x) / ex:.1f} img/s')
    t = time.perf_counter(); r = size_similarity(split); ss = time.perf_counter() - t
    print(f'size-similarity measurement: {ss:.1f} s ({r.summary()})')

if __name__ == '__main__': main()
