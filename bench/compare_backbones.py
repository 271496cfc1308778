"""Which pretrained base: `compare_backbones`' table, then strategy 3 trained on every base and on `arch='auto'`'s choice.

    python bench/compare_backbones.py [--data hymenoptera digits] [--epochs 10] [--backend fastai]

For each data set (hymenoptera at each base's own size, digits at 64 px as `tlnb demo`): the table of the bases at hand
(the forecast's linear probe on each base's features, cross-validated on the training images, with the extraction
time), the base `arch='auto'` chooses, and the validation accuracy of strategy 3 (the default `linear` head, `--epochs`
one-cycle epochs at its default rate) on every measured base, the chosen one marked. The features are extracted once
per base: the training runs reuse them from the cache."""
import argparse, time
from pathlib import Path
import pandas as pd
from tlnb.core.data import digits_folder, scan_folder, split_items
from tlnb.core.learner import tl_learner
from tlnb.core.specs import HEADS
from tlnb.core.compare import compare_backbones, choose_backbone

HYM = Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'
pd.set_option('display.width', 200)

def data(name:str):
    if name == 'hymenoptera':
        if not HYM.exists(): raise SystemExit(f'{HYM} not found')
        return split_items(scan_folder(HYM)), None
    return split_items(scan_folder(digits_folder())), 64

def main(names, epochs, backend):
    for name in names:
        sp, size = data(name)
        t = time.perf_counter()
        table = compare_backbones(sp, backend=backend, size=size, verbose=False)
        secs = time.perf_counter() - t
        arch, why = choose_backbone(table)
        m = table[table.status == 'measured']
        print(f'\n== {name} ({len(sp.train)} training, {len(sp.valid)} validation images), {backend}: measured in {secs:.0f} s')
        print(m.drop(columns='status').to_string(index=False))
        for a, s in zip(table.arch, table.status):
            if s != 'measured': print(f'{a}: {s}')
        print(f'arch=auto -> {why}')
        rows = []
        for a in m.arch:
            learn = tl_learner(sp, strategy=3, arch=a, size=size, seed=0, backend=backend, verbose=False)
            t = time.perf_counter()
            with learn.quiet(): learn.fit_one_cycle(epochs, HEADS[learn.head].lr)
            rows.append(dict(arch=a + (' (auto)' if a == arch else ''), probe_cv=m.set_index('arch').probe[a],
                             strategy3_valid=round(float(learn.validate()[1]), 4), train_s=round(time.perf_counter() - t, 1)))
        print(pd.DataFrame(rows).to_string(index=False))

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--data', nargs='+', default=['hymenoptera', 'digits'])
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--backend', default='fastai')
    a = p.parse_args()
    main(a.data, a.epochs, a.backend)
