"""Reduced-scale JPEG decoding (Pillow's `draft`, `tlnb.core.data.DRAFT`) on and off, side by side in one run: the first
feature extraction's images/s and the accuracy strategy 3 starts from (a linear probe on the features, 5-fold
cross-validated on the training images, and fitted on them then scored on the validation images).

`draft` only changes anything for a JPEG at least twice the size on both sides: on the hymenoptera photos (about
500 x 375) that is 112 and 160 px, not 224.

Usage: python bench/draft_check.py [--sizes 112 160] [--data PATH]"""
import argparse, time
from pathlib import Path
import numpy as np
from tlnb.core.learner import tl_learner
from tlnb.core import data
from tlnb.core.cache import FEATURES
from tlnb.core.probe import cv_predict, probe_model

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'))
    p.add_argument('--sizes', type=int, nargs='+', default=[112, 160])
    a = p.parse_args()
    print(f'{Path(a.data).name}: strategy 3 features of efficientnet_lite0, the first extraction (nothing kept) per row', flush=True)
    for size in a.sizes:
        res = {}
        for draft in (False, True):
            data.DRAFT = draft; data.KEPT.clear(); FEATURES.clear()
            learn = tl_learner(a.data, strategy=3, size=size, seed=0, verbose=False)
            with learn.no_bar():
                t = time.perf_counter(); x, y = learn.features('train', passes=1); s = time.perf_counter() - t
                xv, yv = learn.features('valid', passes=1)
            cv = float((cv_predict(probe_model(), x, y, 5, 0).argmax(1) == y).mean())
            val = float((probe_model().fit(x, y).predict(xv) == yv).mean())
            res[draft] = (len(x) / s, cv, val)
            print(f'{size:4d} px, draft {"on " if draft else "off"}: extraction {len(x) / s:6.1f} img/s, probe accuracy: '
                  f'cross-validated {cv:.4f}, validation {val:.4f}', flush=True)
        (r0, c0, v0), (r1, c1, v1) = res[False], res[True]
        print(f'{size:4d} px, draft on / off: extraction {r1 / r0:.2f}x, accuracy {100 * (c1 - c0):+.1f} (cross-validated), '
              f'{100 * (v1 - v0):+.1f} (validation) points', flush=True)

if __name__ == '__main__': main()
