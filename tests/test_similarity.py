"The size-similarity matrix on real data: photos of insects are like ImageNet, handwritten digits are not."
from tlnb.core.data import digits_folder
from tlnb.core.similarity import size_similarity
from tlnb.core.matrix import QUADRANTS

def test_hymenoptera_small_and_similar(hymenoptera):
    r = size_similarity(hymenoptera)
    assert (r.small, r.similar, r.quadrant.num, r.strategy) == (True, True, 4, 3)
    assert r.similarity > 0.9  # measured 0.94; the threshold is 0.82

def test_digits_small_and_different(tmp_path):
    r = size_similarity(digits_folder(tmp_path/'digits'))
    assert (r.small, r.similar, r.quadrant.num, r.strategy, r.quadrant.augment) == (True, False, 3, 2, True)
    assert r.similarity < 0.75  # measured 0.64
    assert 'different from ImageNet' in str(r) and 'augmentation' in str(r)

def test_override_skips_measurement(tmp_path):
    r = size_similarity(digits_folder(tmp_path/'digits'), similar=True, small=False)
    assert (r.quadrant.num, r.similarity, r.strategy) == (2, None, 2)

def test_mapping_table():
    assert {n: (q.small, q.similar, q.strategy) for n, q in QUADRANTS.items()} == {
        1: (False, False, 1), 2: (False, True, 2), 3: (True, False, 2), 4: (True, True, 3)}
    assert QUADRANTS[3].frozen < QUADRANTS[2].frozen and [q.augment for q in QUADRANTS.values()] == [False, False, True, False]
