"""Deployable exports (`learn.export_model`) on both backends, read back by `tl_predictor`: every format round-trips with
the learner's predictions, damaged files get clear errors, `predict_folder` labels a folder with bad files in it and never
overwrites a CSV unasked, and an ONNX model runs without the training stack. About 4-5 minutes of CPU time on
2 cores (the exports dominate: PyTorch's ONNX exporter, tf2onnx, the LiteRT converter), longer when the cores are shared."""
import json, os, shutil, subprocess, sys, textwrap
from pathlib import Path
import numpy as np
import pytest

pytest.importorskip('onnxruntime', reason='the deploy extra is not installed: pip install -e ".[deploy]"')
from tlnb.core.data import make_corpus, scan_folder
from tlnb.core.learner import tl_learner
from tlnb.core.predictor import tl_predictor, predict_folder, predict_main, parity_path, TOLERANCE, ExportReport

BAD = {'Thumbs.db', 'anim.gif', '.DS_Store', 'empty.jpg', 'truncated.jpg', 'notes.txt'}  # what make_corpus puts among the images

@pytest.fixture(scope='module')
def corpus(tmp_path_factory)->Path:
    root = tmp_path_factory.mktemp('export')
    old = os.environ.get('XDG_CACHE_HOME')
    os.environ['XDG_CACHE_HOME'] = str(root/'xdg')  # feature caches of these learners stay in the test's folder
    yield make_corpus(root/'corpus')
    if old is None: os.environ.pop('XDG_CACHE_HOME', None)
    else: os.environ['XDG_CACHE_HOME'] = old

@pytest.fixture(scope='module')
def images(corpus)->list[Path]: return scan_folder(corpus).files  # the 13 good images, training and validation

def _learner(corpus, backend):
    __import__(f'tlnb.{backend}_backend.export')  # adds `export_model` to the backend's learner
    learn = tl_learner(corpus, strategy=3, size=32, bs=4, seed=0, backend=backend, verbose=False)
    with learn.quiet(): learn.fit_one_cycle(1, 1e-2)
    return learn

@pytest.fixture(scope='module')
def fastai_learn(corpus): return _learner(corpus, 'fastai')

@pytest.fixture(scope='module')
def keras_learn(corpus):
    pytest.importorskip('keras', reason='the keras extra is not installed')
    return _learner(corpus, 'keras')

@pytest.fixture(scope='module')
def exports(tmp_path_factory)->Path: return tmp_path_factory.mktemp('exports')

CASES = [('fastai', 'onnx', 'f.onnx'), ('fastai', 'pkl', 'f.pkl'), ('keras', 'onnx', 'k.onnx'), ('keras', 'saved_model', 'k_savedmodel'),
         ('keras', 'tflite', 'k.tflite'), ('keras', 'keras', 'k.keras')]

@pytest.fixture(scope='module')
def exported(request, exports):
    "backend, format -> (learner, report), each exported once for the module."
    done = {}
    def get(backend, fmt):
        if (backend, fmt) not in done:
            learn = request.getfixturevalue(f'{backend}_learn')
            name = next(n for b, f, n in CASES if (b, f) == (backend, fmt))
            done[backend, fmt] = learn, learn.export_model(exports/name, verbose=False)
        return done[backend, fmt]
    return get

def _reference(learn, backend, fmt, files):
    "What the learner itself gives: its own pipeline for graph formats, its `predict` for learner files."
    if fmt in ('pkl', 'keras'):
        from tlnb.core.predictor import predict_probs
        return predict_probs(learn, files)
    mod = __import__(f'tlnb.{backend}_backend.export', fromlist=['learner_probs'])
    return mod.learner_probs(learn, files)

@pytest.mark.parametrize('backend,fmt,name', CASES, ids=[f'{b}-{f}' for b, f, _ in CASES])
def test_round_trip(exported, images, backend, fmt, name):
    learn, rep = exported(backend, fmt)
    assert isinstance(rep, ExportReport) and rep.passed and rep.agreement == 1.0 and rep.max_abs_diff < TOLERANCE[fmt]
    assert rep.images == 2 and rep.latency_ms > 0 and rep.bytes > 10_000  # the corpus' validation set: 2 images
    stored = json.loads(parity_path(rep.path).read_text())
    assert stored['passed'] and stored['top1_agreement'] == 1.0 and stored['file'] == name and stored['format'] == fmt
    p = tl_predictor(rep.path)
    assert (p.format, p.vocab, p.size) == (fmt, ['cats', 'dogs'], 32)
    labels, probs = p.predict(images)  # beyond the validation sample: every good image of the corpus
    ref = _reference(learn, backend, fmt, images)
    assert np.abs(probs - ref).max() < TOLERANCE[fmt]
    assert labels == [learn.vocab[i] for i in ref.argmax(1)]
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)

@pytest.mark.parametrize('backend,fmt,name', CASES, ids=[f'{b}-{f}' for b, f, _ in CASES])
def test_temperature_and_threshold_travel(request, exports, images, backend, fmt, name):
    "A calibrated learner (temperature 2) that abstains under 0.9: every format keeps both and gives its calibrated probabilities."
    from tlnb.core.contract import calibrated
    from tlnb.core.predictor import learner_set
    learn = request.getfixturevalue(f'{backend}_learn')
    plain = _reference(learn, backend, fmt, images)
    with learner_set(learn, temperature=2.0, threshold=0.9):
        rep = learn.export_model(exports/f'warm_{name}', verbose=False)
        own = np.stack([np.asarray(learn.predict(f)[2]) for f in images[:2]])  # the learner's own calibrated `predict`
    assert (learn.temperature, learn.threshold) == (1.0, None)  # the learner is left as it was
    assert rep.passed and rep.agreement == 1.0
    p = tl_predictor(rep.path)
    assert (p.meta['temperature'], p.meta['threshold'], p.threshold) == (2.0, 0.9, 0.9)
    labels, probs = p.predict(images)
    want = calibrated(plain, 2.0)
    assert np.abs(probs - want).max() < TOLERANCE[fmt] and np.abs(probs[:2] - own).max() < TOLERANCE[fmt]
    assert probs.max() < plain.max()  # softer than the uncalibrated learner's
    clear = np.abs(want.max(1) - 0.9) > TOLERANCE[fmt]  # images not within the tolerance of the threshold
    assert [l for l, c in zip(labels, clear) if c] == [None if r.max() < 0.9 else learn.vocab[r.argmax()] for r in want[clear]]
    assert tl_predictor(rep.path, threshold=0.5).threshold == 0.5  # a predictor may still choose its own

def test_graph_formats_carry_their_description(exported):
    for backend, fmt in (('fastai', 'onnx'), ('keras', 'onnx'), ('keras', 'saved_model'), ('keras', 'tflite')):
        learn, rep = exported(backend, fmt)
        m = tl_predictor(rep.path).meta
        assert m['classes'] == ['cats', 'dogs'] and m['size'] == 32 and m['input_layout'] == 'NHWC' and m['input_range'] == [0, 255]
        assert m['resize'] == 'crop' and m['resample'] == 'bilinear' and m['temperature'] == 1.0 and m['threshold'] is None
        assert (m['backend'], m['arch'], m['strategy']) == (backend, 'efficientnet_lite0', 3)

def test_a_format_the_backend_does_not_write(fastai_learn, exports):
    with pytest.raises(ValueError, match="format='tflite': this learner exports to onnx, pkl"): fastai_learn.export_model(exports/'x.tflite')

def test_an_export_is_not_overwritten_unasked(exported, exports):
    learn, rep = exported('fastai', 'onnx')
    before = rep.path.read_bytes()
    with pytest.raises(FileExistsError, match='overwrite=True'): learn.export_model(rep.path)
    assert rep.path.read_bytes() == before

@pytest.mark.parametrize('damage', ['truncated', 'text'])
@pytest.mark.parametrize('backend,fmt,name', CASES, ids=[f'{b}-{f}' for b, f, _ in CASES])
def test_a_damaged_export_gets_a_clear_error(exported, tmp_path, backend, fmt, name, damage):
    _, rep = exported(backend, fmt)
    bad = tmp_path/name
    if fmt == 'saved_model':
        shutil.copytree(rep.path, bad)
        target = bad/'saved_model.pb'
    else: target = bad
    src = (rep.path/'saved_model.pb' if fmt == 'saved_model' else rep.path).read_bytes()
    if damage == 'truncated': target.write_bytes(src[:len(src) // 2])
    else: target.write_text('these are my notes, not a model\n')
    with pytest.raises(ValueError, match='cannot be loaded') as e: tl_predictor(bad)
    assert str(bad) in str(e.value) and 'Traceback' not in str(e.value)

def test_predict_folder_labels_and_lists_bad_files(exported, corpus, images, tmp_path):
    learn, rep = exported('fastai', 'onnx')
    s = predict_folder(rep.path, corpus, tmp_path/'labels.csv')
    assert s.images == len(images) == 13 and sum(s.counts.values()) == 13
    assert {f.name for f, _ in s.skipped} == BAD
    why = {f.name: w for f, w in s.skipped}
    assert 'truncated' in why['truncated.jpg'] and '0 bytes' in why['empty.jpg'] and 'GIF' in why['anim.gif']
    text = str(s)
    assert all(n in text for n in BAD) and 'Left out' in text
    rows = (tmp_path/'labels.csv').read_text().splitlines()
    assert rows[0] == 'file,label,prob_cats,prob_dogs' and len(rows) == 14
    assert not any(n in (tmp_path/'labels.csv').read_text() for n in BAD)
    got = {r.split(',')[0]: r.split(',')[1] for r in rows[1:]}
    ref = tl_predictor(rep.path).predict(images)[0]
    assert got == {f.relative_to(corpus).as_posix(): l for f, l in zip(images, ref)}

def test_predict_folder_without_class_folders(exported, corpus, tmp_path):
    _, rep = exported('keras', 'tflite')
    flat = tmp_path/'flat'
    (flat/'deep'/'deeper').mkdir(parents=True)
    for i, f in enumerate(sorted(corpus.rglob('*.*'))): shutil.copy(f, (flat if i % 2 else flat/'deep'/'deeper')/f'{i}{f.suffix}')
    s = predict_folder(rep.path, flat, tmp_path/'flat.csv')
    assert s.images == 13 and len(s.skipped) == 6
    assert 'deep/deeper/' in (tmp_path/'flat.csv').read_text()

def test_the_csv_is_not_overwritten_unasked(exported, corpus, tmp_path):
    _, rep = exported('fastai', 'onnx')
    out = tmp_path/'mine.csv'
    out.write_text('my own table\n')
    with pytest.raises(FileExistsError, match='overwrite'): predict_folder(rep.path, corpus, out)
    assert out.read_text() == 'my own table\n'
    with pytest.raises(SystemExit) as e: predict_main([str(rep.path), str(corpus), '--csv', str(out)])
    assert str(e.value.code).startswith('tlnb: error:') and 'exists' in str(e.value.code)
    assert out.read_text() == 'my own table\n'
    assert predict_main([str(rep.path), str(corpus), '--csv', str(out), '--overwrite']) == 0
    assert out.read_text().startswith('file,label,')

@pytest.mark.parametrize('argv,msg', [(['MODEL', 'nowhere', '--csv', 'o.csv'], 'does not exist'),
                                      (['nope.onnx', 'CORPUS', '--csv', 'o.csv'], 'nope.onnx does not exist'),
                                      (['MODEL', 'CORPUS', '--csv', 'o.txt'], '.csv file'),
                                      (['MODEL'], 'required')])
def test_predict_main_one_error_line(exported, corpus, tmp_path, argv, msg):
    _, rep = exported('fastai', 'onnx')
    argv = [str(rep.path) if a == 'MODEL' else str(corpus) if a == 'CORPUS' else a for a in argv]
    code = 'import sys; from tlnb.core.predictor import predict_main; predict_main(sys.argv[1:])'
    r = subprocess.run([sys.executable, '-c', code, *argv], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ''
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith('tlnb: error:') and msg in r.stderr

def test_onnx_needs_no_training_stack(exported, corpus, tmp_path):
    "In a fresh process, with the frameworks made unimportable, an ONNX model labels a folder; none of them is loaded."
    _, rep = exported('keras', 'onnx')
    code = textwrap.dedent(f'''
        import sys
        for m in ('torch', 'torchvision', 'timm', 'fastai', 'tensorflow', 'keras', 'jax'): sys.modules[m] = None  # importing them fails
        from tlnb.core.predictor import tl_predictor, predict_folder
        p = tl_predictor({str(rep.path)!r})
        print(p.predict({str(corpus/'cats'/'c1.jpg')!r})[0])
        print(predict_folder(p, {str(corpus)!r}, {str(tmp_path/'o.csv')!r}).images)
        for m in ('torch', 'fastai', 'tensorflow', 'keras'): del sys.modules[m]
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'fastai', 'tensorflow', 'keras')))''')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    label, n, loaded = r.stdout.splitlines()[-3:]
    assert label in ("['cats']", "['dogs']") and n == '13' and loaded == '[]'

def test_real_photos(hym_subset, tmp_path):
    "Parity on real photos (the hymenoptera subset: 40 training and 25 validation images per class), at 64 px to keep it short."
    import tlnb.fastai_backend.export  # noqa: F401
    learn = tl_learner(hym_subset, strategy=3, size=64, seed=0, verbose=False)
    with learn.quiet(): learn.fit_one_cycle(1, 1e-2)
    rep = learn.export_model(tmp_path/'hym.onnx', verbose=False)
    assert rep.images == 32 and rep.agreement == 1.0 and rep.max_abs_diff < 1e-3
