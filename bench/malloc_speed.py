"""Kernel time in fine-tuning: glibc returns each batch's freed activations to the kernel and faults them back in the
next batch. One strategy-2 epoch on the hymenoptera data (EfficientNet-Lite0, 224 px, bs 32) in fresh processes,
alternating: glibc's own behaviour (`TLNB_KEEP_MEMORY=0`) and tlnb's default, freed memory kept for reuse
(`tlnb.core.noise.keep_freed_memory`). Prints each epoch's wall, user and system seconds, peak memory and the
validation accuracy, then the medians' ratio.

Usage: python bench/malloc_speed.py [--data PATH] [--rounds 3]   (Linux with glibc)"""
import argparse, json, os, subprocess, sys
from pathlib import Path

EPOCH = '''
import json, resource, sys, time
from tlnb.core.learner import tl_learner
learn = tl_learner(sys.argv[1], strategy=2, size=224, bs=32, seed=0, verbose=False)
r0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, slice(1e-4, 1e-3))
wall, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
with learn.no_bar(): acc = float(learn.validate()[1])
print(json.dumps(dict(wall=wall, user=r1.ru_utime - r0.ru_utime, system=r1.ru_stime - r0.ru_stime, peak_mb=r1.ru_maxrss / 1024, accuracy=acc)))
'''
SETTINGS = {"glibc's own": '0', 'freed memory kept': '1'}

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[2]/'shared'/'data'/'hymenoptera'))
    p.add_argument('--rounds', type=int, default=3)
    a = p.parse_args()
    walls = {k: [] for k in SETTINGS}
    for r in range(a.rounds):
        for name, flag in SETTINGS.items():
            out = subprocess.run([sys.executable, '-c', EPOCH, a.data], capture_output=True, text=True, env={**os.environ, 'TLNB_KEEP_MEMORY': flag})
            if out.returncode: sys.exit(out.stderr[-2000:])
            m = json.loads(out.stdout.strip().splitlines()[-1])
            walls[name].append(m['wall'])
            print(f"round {r + 1}  {name:18s} epoch {m['wall']:5.1f} s  user {m['user']:5.1f} s  system {m['system']:4.1f} s  "
                  f"peak {m['peak_mb']:5.0f} MB  accuracy {m['accuracy']:.4f}", flush=True)
    base, kept = (sorted(v)[len(v) // 2] for v in walls.values())
    print(f"median epoch: glibc's own {base:.1f} s, freed memory kept {kept:.1f} s: {base / kept:.2f}x")

if __name__ == '__main__': main()
