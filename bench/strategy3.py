"""Strategy 3 (frozen base as a fixed feature extractor) on the hymenoptera data: the plain fastai way against tlnb's
cached features, side by side in one run, same backbone (offline EfficientNet-Lite0), image size, epochs and rate.

Prints, for each: the time of the first epoch and of the later ones, the time of `lr_find`, and the validation
accuracy; then the three heads compared on the cached features.

Usage: python bench/strategy3.py [--size 224] [--epochs 5] [--lr 3e-3] [--head-epochs 20] [--data PATH]"""
import argparse, tempfile, time
from pathlib import Path
from torch import nn
from fastai.vision.all import Learner, Callback, accuracy, create_head, num_features_model, apply_init, default_split, set_seed
from tlnb.fastai_backend.data import tl_dls, normalize_for
from tlnb.fastai_backend.models import tl_base
from tlnb.core.specs import get_backbone
from tlnb.core.weights import torch_model
from tlnb.core.learner import tl_learner, compare_heads
from tlnb.core.cache import FEATURES

class EpochTimes(Callback):
    "Wall time of each epoch (training and validation)."
    def before_fit(self): self.times = []
    def before_epoch(self): self.t = time.perf_counter()
    def after_epoch(self): self.times.append(time.perf_counter() - self.t)

def plain_learner(dls, arch='efficientnet_lite0'):
    "What `vision_learner` builds, on the same offline backbone: body, fastai head, frozen body, `train_bn=True`."
    bb = get_backbone(arch)
    body = tl_base(bb, torch_model(bb))
    head = create_head(num_features_model(body), dls.c)
    apply_init(head, nn.init.kaiming_normal_)
    normalize_for(dls, bb.stats)
    learn = Learner(dls, nn.Sequential(body, head), splitter=default_split, metrics=accuracy,
                    path=tempfile.mkdtemp())  # fastai's lr_find saves into path/models: not into the data folder
    learn.freeze()
    return learn

def timed(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t

def fit_times(learn, epochs, lr):
    "Per-epoch wall times of one-cycle training, and the validation accuracy after it."
    cb = EpochTimes()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr, cbs=cb)
        return dict(first=cb.times[0], later=sum(cb.times[1:]) / max(1, len(cb.times) - 1), acc=float(learn.validate()[1]))

def lr_find_time(learn):
    with learn.no_bar(), learn.no_logging(): return timed(lambda: learn.lr_find(show_plot=False))

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[1].parent/'shared'/'data'/'hymenoptera'))
    p.add_argument('--size', type=int, default=224); p.add_argument('--epochs', type=int, default=5)
    p.add_argument('--lr', type=float, default=3e-3); p.add_argument('--head-epochs', type=int, default=20)
    a = p.parse_args()
    dls = tl_dls(a.data, size=a.size, verbose=False)
    print(f'hymenoptera {len(dls.train_ds)} train / {len(dls.valid_ds)} valid, efficientnet_lite0 {a.size}px, '
          f'{a.epochs} epochs one-cycle lr {a.lr}, bs {dls.bs}', flush=True)
    set_seed(0); learn = plain_learner(dls)
    plain = dict(lr_find=lr_find_time(learn), **fit_times(learn, a.epochs, a.lr))  # the usual order: lr_find, then fit
    FEATURES.clear()
    tl = dict(lr_find_cold=lr_find_time(tl_learner(dls, strategy=3, seed=0, verbose=False)))  # extraction included
    FEATURES.clear()
    tl.update(fit_times(tl_learner(dls, strategy=3, seed=0, verbose=False), a.epochs, a.lr))  # first epoch extracts
    tl['lr_find'] = lr_find_time(tl_learner(dls, strategy=3, seed=0, verbose=False))  # a new learner, features in memory
    print(f'{"":22}{"first epoch":>12}{"later epochs":>14}{"lr_find":>10}{"accuracy":>10}')
    for name, r in (('plain fastai (frozen)', plain), ('tlnb strategy 3 cached', tl)):
        print(f'{name:22}{r["first"]:11.2f}s{r["later"]:13.3f}s{r["lr_find"]:9.2f}s{r["acc"]:10.4f}')
    print(f'tlnb lr_find with the features not yet extracted: {tl["lr_find_cold"]:.2f}s')
    print(f'speed-up: later epochs {plain["later"] / tl["later"]:.0f}x, lr_find {plain["lr_find"] / tl["lr_find"]:.0f}x '
          f'({plain["lr_find"] / tl["lr_find_cold"]:.1f}x cold), first epoch {plain["first"] / tl["first"]:.1f}x', flush=True)
    print(f'\nheads on the same cached features, {a.head_epochs} epochs each:')
    print(compare_heads(dls.split, epochs=a.head_epochs, lr=a.lr, size=a.size).to_string(index=False))

if __name__ == '__main__': main()
