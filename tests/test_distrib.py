"Several processes, as a user starts them from the shell: `tlnb train --processes 2` (gloo / TensorFlow collectives on loopback)."
import os, re, signal, subprocess, time
from pathlib import Path
import pytest
from tlnb.core.data import make_corpus
from tlnb.core.learner import tl_load

def tlnb(*args, cwd, env=None, timeout=600):
    "Run `tlnb` in its own process group; kill the whole group (the launched processes too) if it runs past `timeout` s."
    p = subprocess.Popen(['tlnb', *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, **(env or {})}, start_new_session=True)
    try: out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL); p.communicate()
    return subprocess.CompletedProcess(p.args, p.returncode, out, err), p.pid

def survivors(pgid:int)->bool:
    "Whether any process of the group `pgid` is still running a moment after its leader ended."
    for _ in range(50):
        try: os.killpg(pgid, 0)
        except ProcessLookupError: return False
        time.sleep(0.2)
    return True

def test_two_processes_train_once_save_once(tmp_path):
    (r, pgid) = tlnb('demo', '--processes', '2', '--strategy', '3', '--epochs', '2', '--out', tmp_path/'d.pkl', cwd=tmp_path,
                     env={'XDG_CACHE_HOME': str(tmp_path/'cache')})
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'tlnb: training in 2 processes' in r.stdout
    assert r.stdout.count('model saved to') == 1 and r.stdout.count('validation accuracy:') == 1  # the main process speaks for all
    assert r.stdout.count('digits32: 1797 images') == 1  # the folder is checked once
    acc = float(r.stdout.split('validation accuracy: ')[1].split()[0])
    assert acc > 0.85, r.stdout  # one process: 0.89 after one epoch (tlnb demo --strategy 3 --epochs 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['cache', 'd.pkl']  # one model, no part files
    assert tl_load(tmp_path/'d.pkl').vocab == [str(i) for i in range(10)]
    assert not survivors(pgid)

@pytest.mark.parametrize('backend', ['fastai', 'keras'])
def test_a_failing_run_says_why_and_leaves_no_process(tmp_path, backend):
    one = make_corpus(tmp_path/'corpus')/'cats'  # a folder of images without class folders
    (r, pgid) = tlnb('train', one, '--processes', '2', '--backend', backend, '--size', '32', cwd=tmp_path, timeout=300)
    assert r.returncode == 1, (r.stdout, r.stderr[-2000:])
    last = r.stderr.strip().splitlines()[-1]
    assert re.match(r'tlnb: error: process \d of the run failed: \w+Error: ', last), last
    assert not survivors(pgid) and not list(tmp_path.glob('models*'))

def test_bad_launch_values(tmp_path):
    (r, _) = tlnb('demo', '--processes', '0', cwd=tmp_path, timeout=120)
    assert r.returncode == 1 and 'processes=0: must be a whole number of at least 1' in r.stderr
    (r, _) = tlnb('demo', '--nodes', '2', '--node-rank', '2', cwd=tmp_path, timeout=120)
    assert r.returncode == 1 and 'node_rank=2: must be between 0 and nodes - 1 = 1' in r.stderr
    (r, _) = tlnb('demo', '--nodes', '2', cwd=tmp_path, timeout=120)
    assert r.returncode == 1 and 'give the same port on every machine' in r.stderr
