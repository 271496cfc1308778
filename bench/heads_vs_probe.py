"""The strategy-3 heads against the linear probe of the forecast, on the same frozen features.

    python bench/heads_vs_probe.py [--seeds 0 1 2] [--epochs 10] [--data hymenoptera digits]

For each data set: the frozen base's features are extracted once (EfficientNet-Lite0; hymenoptera at 224 px, digits at
64 px, as `tlnb demo`), the forecast's linear probe is fitted on the training features and scored on the validation
images, then each head trains `--epochs` epochs of one-cycle at 3e-3 (the CLI's default) on the same features, per
seed. Prints the validation accuracy of each, and the mean over seeds."""
import argparse, time
from pathlib import Path
import numpy as np, pandas as pd
from tlnb.core.data import digits_folder, scan_folder, split_items
from tlnb.core.learner import tl_learner
from tlnb.core.probe import forecast_features
from tlnb.core.specs import HEADS, DEFAULT_HEADS

HYM = Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'

def data(name:str):
    if name == 'hymenoptera':
        if not HYM.exists(): raise SystemExit(f'{HYM} not found')
        return split_items(scan_folder(HYM)), 224
    return split_items(scan_folder(digits_folder())), 64

def main(names, seeds, epochs, heads):
    rows = []
    for name in names:
        sp, size = data(name)
        probe = None
        for head in heads:
            for seed in seeds:
                learn = tl_learner(sp, strategy=3, head=head, size=size, seed=seed, verbose=False)
                if probe is None:
                    (xt, yt), (xv, yv) = learn.features('train', passes=1), learn.features('valid')
                    f = forecast_features(xt, yt, learn.vocab, xv, yv)
                    probe = f.valid
                    rows.append(dict(data=name, model='linear probe (forecast)', seed='-', accuracy=round(f.valid, 4), seconds=round(f.seconds, 2)))
                learn.features('train'), learn.features('valid')
                t = time.perf_counter()
                with learn.quiet(): learn.fit_one_cycle(epochs, HEADS[head].lr)
                rows.append(dict(data=name, model=f'head {head}', seed=seed, accuracy=round(float(learn.validate()[1]), 4),
                                 seconds=round(time.perf_counter() - t, 2)))
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    print('\nmean over seeds:')
    mean = df.groupby(['data', 'model'], sort=False).accuracy.mean()
    print(mean.round(4).to_string())
    d = f'head {DEFAULT_HEADS[3]}'
    print(f'\nstrategy 3\'s default head ({d}) minus the linear probe, mean over seeds:')
    for name in names:
        if (name, d) in mean: print(f'  {name}: {mean[name, d] - mean[name, "linear probe (forecast)"]:+.4f}')

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--data', nargs='+', default=['hymenoptera', 'digits'])
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--heads', nargs='+', default=list(HEADS))
    a = p.parse_args()
    main(a.data, a.seeds, a.epochs, a.heads)
