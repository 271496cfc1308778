"The `tlnb` command as a user runs it: a real process, real output."
import os, subprocess, sys
from pathlib import Path
from tlnb.core.data import make_corpus
from tlnb.core.learner import tl_load

def tlnb(*args, cwd, env=None):
    return subprocess.run(['tlnb', *map(str, args)], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})

def test_train_prints_accuracy_and_saves(tmp_path):
    corpus = make_corpus(tmp_path/'corpus')
    r = tlnb('train', corpus, '--strategy', 'feature_extractor', '--epochs', '1', '--size', '32', '--bs', '4', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'Thumbs.db: not an image' in r.stdout and 'per class:' in r.stdout and 'validation accuracy:' in r.stdout
    saved = tmp_path/'models'/'corpus-efficientnet_lite0-s3.pkl'
    assert f'model saved to {saved}' in r.stdout
    assert tl_load(saved).vocab == ['cats', 'dogs']
    r2 = tlnb('train', corpus, '--strategy', '3', '--epochs', '1', '--size', '32', '--bs', '4', cwd=tmp_path)
    assert 'corpus-efficientnet_lite0-s3-1.pkl' in r2.stdout  # the first model is not overwritten

def test_bad_input_one_clear_line(tmp_path):
    r = tlnb('train', tmp_path/'missing', cwd=tmp_path)
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    assert r.stderr.strip().endswith(f'tlnb: error: {tmp_path/"missing"} does not exist or is not a folder: pass a folder with one sub-folder per class')
    (tmp_path/'taken.pkl').write_text('mine')
    r = tlnb('train', make_corpus(tmp_path/'c'), '--out', tmp_path/'taken.pkl', cwd=tmp_path)
    assert r.returncode == 1 and 'pass --overwrite' in r.stderr and (tmp_path/'taken.pkl').read_text() == 'mine'
    r = tlnb('train', tmp_path/'c', '--strategy', '2', '--head', 'svm', cwd=tmp_path)
    assert r.returncode == 1 and "head='svm' is a linear SVM" in r.stderr and 'needs strategy 3' in r.stderr

def test_demo_runs_offline_on_builtin_digits(tmp_path):
    r = tlnb('demo', '--epochs', '1', '--out', tmp_path/'demo.pkl', cwd=tmp_path, env={'XDG_CACHE_HOME': str(tmp_path/'cache')})
    assert r.returncode == 0, r.stderr
    assert 'tlnb: quadrant 3: data small' in r.stdout and '-> strategy 2' in r.stdout
    acc = float(r.stdout.split('validation accuracy: ')[1].split()[0])
    assert acc > 0.65  # measured 0.80 after one epoch, 0.93 after the default three; chance is 0.1
    assert (tmp_path/'cache'/'tlnb'/'digits32').is_dir() and (tmp_path/'demo.pkl').is_file()
