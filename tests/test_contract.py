"""The backend contract, checked the same way on every backend: every verb of `TLLearner` implemented, freezing group by
group, strategies, listeners hearing runs, one run at a time, probabilities, export and reload; and every backbone and
head name either builds on a backend or says it is not available there, listing what is."""
import threading
import numpy as np
import pytest
from tlnb.core.data import make_corpus
from tlnb.core.specs import BACKBONES, HEADS, NotAvailable, get_backbone
from tlnb.core.contract import TLLearner, Listener, listen, running, LearnerBusy
from tlnb.core.learner import tl_learner, tl_load, get_backend, LAZY_BACKENDS

BACKEND_NAMES = list(LAZY_BACKENDS)

@pytest.fixture(scope='module')
def corpus(tmp_path_factory): return make_corpus(tmp_path_factory.mktemp('c')/'corpus')

class Heard(Listener):
    def __init__(self): self.events = []
    def changed(self, learn): self.events.append('changed')
    def begun(self, learn, what, total): self.events.append(f'begun {what}')
    def epoch_ended(self, learn, row): self.events.append(f'epoch {sorted(row)}')
    def ended(self, learn, what, status): self.events.append(f'ended {what} {status}')

@pytest.mark.parametrize('backend', BACKEND_NAMES)
def test_contract(backend, corpus, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path/'xdg'))
    learn = tl_learner(corpus, strategy=2, backend=backend, size=32, bs=4, seed=0, verbose=False)
    assert isinstance(learn, TLLearner) and not type(learn).__abstractmethods__
    for a in ('vocab', 'arch', 'head', 'strategy', 'small', 'size_similarity', 'report', 'size', 'group_names', 'train_bn'):
        assert hasattr(learn, a), a
    assert (learn.vocab, learn.group_names, learn.size, learn.head) == (['cats', 'dogs'], ['stem', 'low', 'mid', 'high', 'head'], 32, 'fc')
    h = Heard(); listen(learn, h)
    learn.freeze_to(3)
    assert (learn.trainable(), learn.frozen, h.events[-1]) == ([False] * 3 + [True] * 2, 3, 'changed')
    learn.set_trainable(0, True); assert learn.trainable()[0]
    sizes = learn.group_sizes()
    assert len(sizes) == 5 and all(s > 0 for s in sizes) and learn.trainable_params() <= sum(sizes)
    learn.apply_strategy(3)
    assert learn.trainable() == [False] * 4 + [True] and learn.bn_modes()[0] == 'inference (statistics frozen)'
    with learn.quiet(): learn.fit(1, 1e-3)
    assert h.events[-3:] == ['begun fit', "epoch ['accuracy', 'epoch', 'train_loss', 'valid_loss']" if backend == 'keras' else
                             "epoch ['accuracy', 'epoch', 'error_rate', 'train_loss', 'valid_loss']", 'ended fit done']
    with learn.quiet(): sugg = learn.lr_find(num_it=20, stop_div=False, show_plot=False, suggest_funcs=('valley', 'steep'))
    lrs, losses = learn.lr_curve()
    assert sugg._fields == ('valley', 'steep') and len(lrs) == len(losses) == 20
    loss, acc = learn.validate()[:2]
    p, y = learn.probs()
    assert p.shape == (2, 2) and np.allclose(p.sum(1), 1, atol=1e-5) and abs((p.argmax(1) == y).mean() - acc) < 1e-6
    x, yt = learn.features('valid')
    assert x.ndim == 2 and len(x) == 2 and list(yt) == list(y)
    label, i, probs = learn.predict(corpus/'cats'/'c1.jpg')
    assert label == learn.vocab[int(i)]
    started, release = threading.Event(), threading.Event()
    def hold():
        with running(learn, 'fit'): started.set(); release.wait()
    t = threading.Thread(target=hold); t.start(); started.wait()
    try:
        for verb in (lambda: learn.fit(1, 1e-3), lambda: learn.freeze_to(1), lambda: learn.lr_find(num_it=5, show_plot=False)):
            with pytest.raises(LearnerBusy, match='busy with fit'): verb()
    finally: release.set(); t.join()
    f = learn.export(tmp_path/f'm{get_backend(backend).suffix}')
    with pytest.raises(FileExistsError): learn.export(f)
    back = tl_load(f)
    assert isinstance(back, TLLearner) and back.vocab == learn.vocab and back.strategy.num == 3
    assert np.allclose(np.asarray(back.predict(corpus/'cats'/'c1.jpg')[2]), np.asarray(probs), atol=1e-5)

@pytest.mark.parametrize('backend', BACKEND_NAMES)
@pytest.mark.parametrize('arch', sorted(BACKBONES))
def test_every_backbone_builds_or_says_not_available(backend, arch, corpus):
    be, bb = get_backend(backend), get_backbone(arch)
    if getattr(bb, be.framework) is None:
        with pytest.raises(NotAvailable, match=f"'{arch}' is not available for {be.framework}; available: efficientnet_lite0"):
            tl_learner(corpus, arch=arch, backend=backend, strategy=3, size=32, pretrained=False, verbose=False)
        return
    learn = tl_learner(corpus, arch=arch, backend=backend, strategy=3, size=96, bs=4, pretrained=False, verbose=False)  # 96: InceptionV3's least
    assert learn.arch == arch and len(learn.group_sizes()) == 5 and learn.predict(corpus/'cats'/'c1.jpg')[0] in ('cats', 'dogs')

@pytest.mark.parametrize('backend', BACKEND_NAMES)
@pytest.mark.parametrize('head', sorted(HEADS))
def test_every_head_builds_or_says_not_available(backend, head, corpus):
    be = get_backend(backend)
    if head not in be.heads:
        with pytest.raises(NotAvailable, match=f"head '{head}' is not available on the {backend} backend; available:"):
            tl_learner(corpus, head=head, backend=backend, strategy=3, size=32, verbose=False)
        return
    learn = tl_learner(corpus, head=head, backend=backend, strategy=3, size=32, bs=4, pretrained=False, verbose=False)
    assert learn.head == head and learn.trainable() == [False] * 4 + [True]
