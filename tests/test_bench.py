"""The #16 benchmark scripts run and print what they promise (tiny sizes: no timing is checked here)."""
import re, subprocess, sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]/'bench'

def run(*args, timeout=600)->str:
    p = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout

def test_speed_rows_and_ratios(hym_subset):
    out = run(BENCH/'speed.py', '--data', hym_subset, '--size', 32, '--epochs', 1, '--rows', 'fastai_plain', 'fastai_s2', 'extract_tlnb', 'extract_bf16')
    rows = re.findall(r'^(plain fastai: vision_learner|tlnb fastai, strategy 2|feature extraction: tlnb).*?\s([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)', out, re.M)
    assert len(rows) == 4, out
    assert re.search(r"^feature extraction: tlnb's, opt-in engine 'torch-bf16'\s", out, re.M), out
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

def test_speed_averages_seeds(monkeypatch, capsys):
    "With `--seeds`, a row is run once per seed (each its own process) and prints the mean times and accuracy, each seed's accuracy, and the largest peak."
    import importlib.util
    spec = importlib.util.spec_from_file_location('speed', BENCH/'speed.py'); speed = importlib.util.module_from_spec(spec); spec.loader.exec_module(speed)
    runs = {('fastai_plain', 0): dict(times=[10., 4.], total=14., acc=.8, n=100, peak_mb=900.),
            ('fastai_plain', 1): dict(times=[20., 6.], total=26., acc=.9, n=100, peak_mb=1000.),
            ('fastai_s2', 0): dict(times=[5., 1.], total=6., acc=.85, n=100, peak_mb=500.),
            ('fastai_s2', 1): dict(times=[7., 3.], total=10., acc=.95, n=100, peak_mb=400.)}
    calls = []
    def run_one(a, name, seed): calls.append((name, seed)); return dict(runs[name, seed])
    monkeypatch.setattr(speed, 'run_one', run_one)
    monkeypatch.setattr(sys, 'argv', ['speed.py', '--rows', 'fastai_plain', 'fastai_s2', '--seeds', '0', '1'])
    speed.main()
    out = capsys.readouterr().out
    assert calls == [('fastai_plain', 0), ('fastai_plain', 1), ('fastai_s2', 0), ('fastai_s2', 1)]
    # first epoch, later epochs, img/s (100 images / later), whole run, peak MB, mean accuracy (each seed's)
    assert re.search(r'^plain fastai: vision_learner \+ fine_tune\s+15\.0\s+5\.0\s+20\.0\s+20\.0\s+1000\s+0\.8500\s+\(0\.8000 0\.9000\)$', out, re.M), out
    assert re.search(r'^tlnb fastai, strategy 2: fit_one_cycle as tlnb train\s+6\.0\s+2\.0\s+50\.0\s+8\.0\s+500\s+0\.9000\s+\(0\.8500 0\.9500\)$', out, re.M), out
    assert 'strategy 2: fit_one_cycle as tlnb train / plain fastai: later epochs 2.50x faster, whole run 2.50x, accuracy +5.0 points' in out, out

def test_speed_child_runs_one_seed(monkeypatch, capsys):
    "A child process runs the row it is given at the seed it is given, and prints one `ROW` line."
    import importlib.util, json
    spec = importlib.util.spec_from_file_location('speed', BENCH/'speed.py'); speed = importlib.util.module_from_spec(spec); spec.loader.exec_module(speed)
    seen = []
    monkeypatch.setitem(speed.ROWS, 'fastai_s2', ('label', lambda a: seen.append(a.seed) or dict(times=[1.], total=1., acc=.5, n=1)))
    monkeypatch.setattr(sys, 'argv', ['speed.py', '--row', 'fastai_s2', '--seed', '7'])
    speed.main()
    assert seen == [7]
    line, = [l for l in capsys.readouterr().out.splitlines() if l.startswith('ROW ')]
    assert json.loads(line[4:])['acc'] == .5

def test_precision_prints_both_precisions(hym_subset):
    "bench/precision.py: PyTorch step times, extraction and strategy 3's accuracy with float32 and bfloat16 features, Keras step times."
    out = run(BENCH/'precision.py', '--data', hym_subset, '--size', 32, '--bs', 8, '--epochs', 1, '--seeds', 0, '--digits-size', 32)
    native = re.search(r'^native bfloat16 on this CPU: (True|False)', out, re.M)
    assert native, out
    bf16 = native[1] == 'True'
    for what in (r'forward \(base\)', r'training step \(whole model\)'):
        assert re.search(rf'^  {what}\s+float32 [\d.]+ s' + (r'\s+bfloat16 autocast [\d.]+ s\s+[\d.]+x$' if bf16 else '$'), out, re.M), out
    assert len(re.findall(r'^  float32 \(tlnb default\)\s+extraction\s+[\d.]+ img/s\s+accuracy [01]\.\d{4}  \([01]\.\d{4}\)$', out, re.M)) == 2, out  # hymenoptera, digits
    assert len(re.findall(r"^  bfloat16 \(torch-bf16\)\s+extraction\s+[\d.]+ img/s\s+accuracy [01]\.\d{4}  \([01]\.\d{4}\)   on float32 features [01]\.\d{4}$", out, re.M)) == (2 if bf16 else 0), out
    assert len(re.findall(r'^  bfloat16 / float32: features differ by [\d.e+-]+ \(relative norm; largest entry [\d.e+-]+ of the largest\), extraction [\d.]+x, accuracy [+-][\d.]+ points$', out, re.M)) == (2 if bf16 else 0), out
    assert re.search(r'^  float32, BatchNorm training\s+[\d.]+ s$', out, re.M) and re.search(r'^  float32, BatchNorm in inference mode\s+[\d.]+ s\s+[\d.]+x$', out, re.M), out
    assert bool(re.search(r'^  mixed_bfloat16, BatchNorm training\s+[\d.]+ s\s+[\d.]+x$', out, re.M)) == bf16, out

def test_precision_names_a_missing_folder(tmp_path):
    p = subprocess.run([sys.executable, BENCH/'precision.py', '--data', tmp_path/'nowhere'], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and f"{tmp_path/'nowhere'}: no such folder; pass --data PATH" in p.stderr, p.stderr[-2000:]

def test_compilers_row():
    "bench/compilers.py's row (the script itself compiles for minutes: run by hand, its output quoted in #16's notes): ratio, compilation, and when it pays back."
    import importlib.util
    spec = importlib.util.spec_from_file_location('compilers', BENCH/'compilers.py')
    sys.path.insert(0, str(BENCH))
    try: c = importlib.util.module_from_spec(spec); spec.loader.exec_module(c)
    finally: sys.path.remove(str(BENCH))
    assert c.compiled('training step', 2.0, 1.0, 50.0) == '  training step                eager 2.000 s   torch.compile 1.000 s (2.00x; compiling 50 s, paid back after 50 steps)'
    assert c.compiled('forward', 1.0, 1.25, 40.0) == '  forward                      eager 1.000 s   torch.compile 1.250 s (0.80x; compiling 40 s)'  # slower: never pays back

def test_shared_cores_rows(hym_subset):
    out = run(BENCH/'shared_cores.py', '--data', hym_subset, '--size', 32, '--extract-size', 32, '--every', 0.3)
    acc = r'(?:0\.\d{4}|1\.0000)'
    fixed = re.search(rf'^  threads fixed \(plain fastai\)\s+[\d.]+ s \({acc}; (\d+)\)\s+[\d.]+ s \({acc}; (\d+)\)$', out, re.M)
    shared = re.search(rf'^  ShareCores \(tlnb\)\s+[\d.]+ s \({acc}; (\d+)\)\s+[\d.]+ s \({acc}; (\d+)\)$', out, re.M)
    assert fixed and shared, out
    assert fixed[1] == fixed[2] and int(shared[2]) < int(fixed[2]), out  # with a process spinning on a core, fewer threads
    assert len(re.findall(r'^  threads (spinning|sleeping).*\s[\d.]+ img/s\s+[\d.]+ img/s$', out, re.M)) == 2, out
    assert len(re.findall(r'^  tlnb / plain, times as fast\s+[\d.]+x\s+[\d.]+x$', out, re.M)) == 2, out

def test_shared_cores_names_a_missing_folder(tmp_path):
    p = subprocess.run([sys.executable, BENCH/'shared_cores.py', '--extract-data', tmp_path/'nowhere'], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and '--extract-data' in p.stderr and 'nowhere' in p.stderr, p.stderr
