"""Strategy 2 on the hymenoptera data: BatchNorm of the frozen layer groups kept training (fastai's `train_bn`)
against frozen statistics (tlnb's default). Prints the validation accuracy of each policy for each seed.

Usage: python bench/bn_policy.py [--size 160] [--epochs 4] [--seeds 0 1 2] [--data ../shared/data/hymenoptera]"""
import argparse, time
from dataclasses import replace
from pathlib import Path
from fastcore.foundation import L
from tlnb.fastai_backend.data import tl_dls
from tlnb.core.learner import tl_learner
from tlnb.core.matrix import get_strategy

def run(dls, strategy, seed, epochs, lr):
    "Validation accuracy after `epochs` of one-cycle training."
    learn = tl_learner(dls, strategy=strategy, seed=seed)
    with learn.quiet():
        learn.fit_one_cycle(epochs, lr)
        return learn.validate()[1]

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).parents[1]/'..'/'shared'/'data'/'hymenoptera'))
    p.add_argument('--size', type=int, default=160); p.add_argument('--epochs', type=int, default=4)
    p.add_argument('--lr', type=float, default=1e-3); p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    a = p.parse_args()
    dls = tl_dls(a.data, size=a.size, verbose=False)
    policies = {'frozen stats (tlnb)': get_strategy(2), 'train_bn (fastai default)': replace(get_strategy(2), bn_frozen=False)}
    print(f'strategy 2, efficientnet_lite0, {a.size}px, {a.epochs} epochs one-cycle lr {a.lr}, seeds {a.seeds}')
    for name, s in policies.items():
        t = time.time()
        accs = L(run(dls, s, seed, a.epochs, a.lr) for seed in a.seeds)
        print(f'{name:27} accuracy {" ".join(f"{x:.3f}" for x in accs)}  mean {sum(accs)/len(accs):.3f}  ({time.time()-t:.0f} s)')

if __name__ == '__main__': main()
