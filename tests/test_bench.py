"""The #16 benchmark scripts run and print what they promise (tiny sizes: no timing is checked here)."""
import re, subprocess, sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]/'bench'

def run(*args, timeout=600)->str:
    p = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout

def test_speed_rows_and_ratios(hym_subset):
    out = run(BENCH/'speed.py', '--data', hym_subset, '--size', 32, '--epochs', 1, '--rows', 'fastai_plain', 'fastai_s2', 'extract_tlnb')
    rows = re.findall(r'^(plain fastai: vision_learner|tlnb fastai, strategy 2|feature extraction: tlnb).*?\s([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)', out, re.M)
    assert len(rows) == 3, out
    assert all(float(v) > 0 for r in rows for v in r[1:]), out
    acc = re.search(r'strategy 2: fit_one_cycle as tlnb train\s.*\s(0\.\d{4}|1\.0000)$', out, re.M)
    assert acc, out
    assert re.search(r'strategy 2: fit_one_cycle as tlnb train / plain fastai: later epochs [\d.]+x faster, whole run [\d.]+x, accuracy [+-][\d.]+ points', out), out

def test_speed_keras_rows(hym_subset):
    out = run(BENCH/'speed.py', '--data', hym_subset, '--size', 32, '--epochs', 1, '--rows', 'keras_plain', 'keras_tlnb')
    assert re.search(r"^plain Keras: the transfer-learning guide's recipe\s.*\s(0\.\d{4}|1\.0000)$", out, re.M), out
    assert re.search(r'^tlnb Keras: strategy 1, fine_tune\s.*\s(0\.\d{4}|1\.0000)$', out, re.M), out
    assert re.search(r'strategy 1, fine_tune / plain Keras: later epochs [\d.]+x faster, whole run [\d.]+x, accuracy [+-][\d.]+ points', out), out

def test_gpu_variant_runs_on_cpu():
    out = run(BENCH/'gpu_speed.py', '--device', 'cpu', '--size', 32, '--bs', 4, '--steps', 1)
    assert re.search(r'measured matrix-multiply peak: float32 [\d.]+ TFLOP/s, bfloat16 [\d.]+ TFLOP/s', out), out
    assert re.search(r'FLOPs an image: forward \(base\) [\d.]+ G, training step \(forward \+ backward\) [\d.]+ G', out), out
    for what in ('training', 'extraction'):
        assert len(re.findall(rf'^{what}\s.*\s[\d.]+ img/s\s+[\d.]+ TFLOP/s\s+[\d.]+% of the measured peak', out, re.M)) == 3, out
    assert len(re.findall(r'^tlnb strategy 1, digits at 32 px, one epoch, (float32|mixed precision): [\d.]+ s, \d+ img/s, accuracy [01]\.\d{4}', out, re.M)) == 2, out
