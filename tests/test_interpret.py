"""Knowing the model, on every backend: the confusion matrix counts the predictions, the report, the top losses, the
heat map, the calibration kept in predictions and exports, abstaining below a threshold; the forecast."""
import numpy as np
import pytest
from tlnb.core.data import make_corpus
from tlnb.core.learner import tl_learner, tl_load, get_backend, LAZY_BACKENDS
from tlnb.core.interpret import confusion, ece
from tlnb.core.contract import calibrated

@pytest.fixture(scope='module')
def corpus(tmp_path_factory): return make_corpus(tmp_path_factory.mktemp('c')/'corpus')

@pytest.mark.parametrize('backend', list(LAZY_BACKENDS))
def test_interpret_calibrate_forecast(backend, corpus, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path/'xdg'))
    learn = tl_learner(corpus, strategy=3, backend=backend, size=32, bs=4, seed=0, verbose=False, valid_pct=0.4)
    with learn.quiet(): learn.fit_one_cycle(3, 1e-2)
    it = learn.interpret()
    cm = it.confusion_matrix()
    assert cm.values.sum() == len(it.y) == len(it.files) and list(cm.index) == learn.vocab
    assert (cm.values == confusion(it.y, it.p.argmax(1), 2)).all() and np.trace(cm.values) == (it.pred == it.y).sum()
    assert it.report().support.sum() == len(it.y)
    tl = it.top_losses(3)
    assert len(tl) == 3 and tl.loss.is_monotonic_decreasing and all(f.exists() for f in tl.file)
    img, cam, label = learn.heatmap(corpus/'cats'/'c1.jpg')
    assert img.shape == (32, 32, 3) and cam.shape == (32, 32) and 0 <= cam.min() and cam.max() <= 1 and label in learn.vocab
    p0, y = learn.probs()
    cal = learn.calibrate()
    p1, _ = learn.probs()
    assert learn.temperature == cal.temperature and cal.nll_after <= cal.nll_before + 1e-6
    assert np.allclose(p1, calibrated(p0, cal.temperature), atol=1e-5) and (p1.argmax(1) == p0.argmax(1)).all()
    label, i, probs = learn.predict(corpus/'cats'/'c1.jpg')
    learn.threshold = 1.01  # nothing is that sure: abstain
    assert learn.predict(corpus/'cats'/'c1.jpg')[0] is None
    learn.threshold = None
    back = tl_load(learn.export(tmp_path/f'm{get_backend(backend).suffix}'))
    assert back.temperature == pytest.approx(learn.temperature)
    assert np.allclose(np.asarray(back.predict(corpus/'cats'/'c1.jpg')[2]), np.asarray(probs), atol=1e-5)
    f = learn.forecast(folds=2)
    assert 0 <= f.probe <= 1 and f.probe_ci[0] <= f.probe <= f.probe_ci[1] and f.n == len(learn.files('train'))
    assert learn.size_similarity is None or learn.size_similarity.forecast is f
