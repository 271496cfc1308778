"Frozen-feature caching on a real learner: same answers as the full model, invalidated when it must be."
import shutil
from unittest import mock
import torch
from tlnb.core.data import make_corpus
from tlnb.core.learner import tl_learner, tl_load
from tlnb.fastai_backend.data import tl_dls
import tlnb.fastai_backend.cache as fcache

class Calls(list): pass

def count_base_calls(learn):
    calls = Calls()
    calls.hook = learn.model[0].register_forward_hook(lambda *a: calls.append(1))
    return calls

def test_cached_head_predicts_like_full_model(hym_subset, tmp_path):
    learn = tl_learner(hym_subset, strategy=3, size=64, seed=0, verbose=False)
    calls = count_base_calls(learn)
    learn.fit_one_cycle(3, 3e-3)
    n = len(calls)
    learn.fit_one_cycle(2, 3e-3)
    assert len(calls) == n  # later fits never run the base
    feats, targs = (torch.from_numpy(a) for a in learn.feature_cache.features(1))
    learn.model.eval()
    with torch.no_grad(): cached = learn.model(feats).softmax(1)
    full, full_targs = learn.get_preds(ds_idx=1)  # runs the base on the images
    assert torch.equal(targs, full_targs) and torch.allclose(cached, full, atol=1e-5)
    calls.hook.remove()  # a hook of this test's is no part of the model to export
    learn.export(tmp_path/'m.pkl')
    img = next((hym_subset/'val'/'ants').iterdir())
    assert torch.allclose(tl_load(tmp_path/'m.pkl').predict(img)[2], learn.predict(img)[2], atol=1e-6)

def test_cache_invalidated_by_new_file_and_size(tmp_path):
    corpus = make_corpus(tmp_path/'c')
    def extractions(size=32):  # counted whatever runs the base: an ONNX Runtime session another test made runs it for any set
        learn = tl_learner(tl_dls(corpus, size=size, bs=4, verbose=False), strategy=3, verbose=False)
        with mock.patch.object(fcache, 'extract_features', wraps=fcache.extract_features) as ex, learn.no_bar(), learn.no_logging():
            learn.fit(1, 1e-3)
        return ex.call_count
    assert extractions() > 0 and extractions() == 0  # the same data again: from memory
    shutil.copy(corpus/'cats'/'c0.jpg', corpus/'cats'/'c9.jpg')
    assert extractions() > 0  # a new file
    assert extractions(size=48) > 0  # another image size

def test_cache_off_trains_the_plain_way(hym_subset):
    learn = tl_learner(hym_subset, strategy=3, size=64, cache=False, verbose=False)
    calls = count_base_calls(learn)
    with learn.no_bar(), learn.no_logging(): learn.fit(2, 1e-3)
    assert not learn.feature_cache.active and len(calls) >= 2 * len(learn.dls.train)
