"""Fine-tuning speed (strategies 1 and 2) on the hymenoptera data: the plain fastai way against tlnb, side by side in
one run, same offline backbone (EfficientNet-Lite0), image size, batch size, epochs and rates.

Plain fastai: what `vision_learner` builds (body, fastai head, `train_bn=True`), unfrozen, `fit_one_cycle`. tlnb:
`tl_learner` with strategy 1 (everything trains) and 2 (the stem frozen), with and without its channels-last images
(`ChannelsLastInput`). Prints seconds per epoch, training images per second, the validation accuracy and the ratio
to plain fastai.

Usage: python bench/finetune_speed.py [--size 224] [--epochs 2] [--bs 32] [--data PATH]"""
import argparse, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from fastai.vision.all import set_seed
from strategy3 import plain_learner, EpochTimes
from tlnb.fastai_backend.data import tl_dls
from tlnb.fastai_backend.learner import ChannelsLastInput
from tlnb.core.learner import tl_learner

def run(learn, epochs, lr):
    "Seconds per epoch (the mean after the first) and the validation accuracy."
    cb = EpochTimes()
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, lr, cbs=cb)
        return sum(cb.times[1:]) / max(1, len(cb.times) - 1) if len(cb.times) > 1 else cb.times[0], float(learn.validate()[1])

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'))
    p.add_argument('--size', type=int, default=224); p.add_argument('--epochs', type=int, default=2); p.add_argument('--bs', type=int, default=32)
    a = p.parse_args()
    lr = slice(1e-4, 1e-3)
    dls = tl_dls(a.data, size=a.size, bs=a.bs, seed=0, verbose=False)
    n = len(dls.train_ds)
    print(f'{Path(a.data).name}: {n} train / {len(dls.valid_ds)} valid, efficientnet_lite0 {a.size}px, bs {a.bs}, {a.epochs} epochs, lr {lr}', flush=True)
    rows = []
    set_seed(0); learn = plain_learner(dls); learn.unfreeze()
    rows.append(('plain fastai, unfrozen', *run(learn, a.epochs, lr)))
    for s in (1, 2):
        for cl in (True, False):
            learn = tl_learner(a.data, strategy=s, size=a.size, bs=a.bs, seed=0, verbose=False)
            if not cl: learn.remove_cb(ChannelsLastInput)
            rows.append((f'tlnb strategy {s}{"" if cl else ", without channels-last"}', *run(learn, a.epochs, lr)))
            print(f'{rows[-1][0]:40s} {rows[-1][1]:6.1f} s/epoch  {n / rows[-1][1]:5.1f} img/s  accuracy {rows[-1][2]:.4f}', flush=True)
    base = rows[0]
    print(f'{base[0]:40s} {base[1]:6.1f} s/epoch  {n / base[1]:5.1f} img/s  accuracy {base[2]:.4f}')
    for r in rows[1:]: print(f'{r[0]} / plain: {base[1] / r[1]:.2f}x faster, accuracy {r[2] - base[2]:+.4f}')

if __name__ == '__main__': main()
