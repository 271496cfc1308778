"""Label issues, on every backend: on digits with deliberately swapped labels the swapped files rank among the top,
with their true class suggested; decisions move nothing until a batch is applied, every batch is journaled outside the
data folder and undone with one call, refused when a file changed; the cleaner panel keeps its flags across classes."""
import os, warnings
from pathlib import Path
import numpy as np
import pytest
from tlnb.core.learner import tl_learner, LAZY_BACKENDS
from tlnb.core.cleaning import (swapped_digits, label_issues, issues_table, plan, apply_decisions, undo, undo_last, history,
                                journal_folder, sha256, relabel, removed, UndoBlocked, QUARANTINE, Journal)

SWAPS = 6

def snapshot(folder:Path)->dict: return {f: sha256(f) for f in folder.rglob('*') if f.is_file()}

@pytest.fixture(scope='module', params=list(LAZY_BACKENDS))
def swapped(request, tmp_path_factory):
    "A digits folder with `SWAPS` training images in the wrong class folder, a strategy-3 learner on it, and its label issues."
    folder, truth = swapped_digits(tmp_path_factory.mktemp(request.param)/'digits', swaps=SWAPS, seed=0)
    learn = tl_learner(folder, strategy=3, backend=request.param, size=32, seed=0, verbose=False)
    with learn.quiet(): issues = learn.label_issues(all_images=True)
    return request.param, folder, truth, learn, issues

def test_swapped_files_rank_among_the_top(swapped):
    backend, folder, truth, learn, issues = swapped
    at = issues.set_index('file')
    ranks = sorted(int(at['rank'][f]) for f in truth)
    print(f'\n{backend}: swapped files ranked {ranks} of {len(issues)} training images; {int(issues.issue.sum())} flagged '
          f'({sum(bool(at.issue[f]) for f in truth)} of them swapped); '
          f'probe accuracy {learn.forecast_.probe:.3f}')
    assert len(issues) == len(learn.files('train')) == 180 and list(issues['rank']) == list(range(1, 181))
    flagged = sum(bool(at.issue[f]) for f in truth)
    assert flagged >= SWAPS // 2, f'confident learning flags most swapped files ({flagged} of {SWAPS}); the others follow them'
    assert ranks[-1] <= 2 * SWAPS, f'the swapped files rank among the top {2 * SWAPS}: {ranks}'
    assert np.mean(ranks) < (SWAPS + 1) * 1.5
    assert all(at.suggested[f] == true for f, true in truth.items()), 'the true class is suggested'
    assert (issues.given != issues.suggested)[issues.issue].all() and issues.issue.is_monotonic_decreasing  # the flagged first
    assert issues.given_prob[~issues.issue].is_monotonic_increasing  # then the rest, least confident in their label first
    assert issues.confidence.between(0, 1).all()

def test_issues_come_from_the_forecast(swapped):
    backend, folder, truth, learn, issues = swapped
    f = learn.forecast_
    assert f.oof is not None and len(f.oof) == 180
    again = label_issues(learn, all_images=True)  # nothing recomputed: the same forecast
    assert learn.forecast_ is f and list(again.file) == list(issues.file)
    y = learn.features('train', passes=1)[1]
    assert (np.array([list(learn.vocab).index(Path(x).parent.name) for x in learn.files('train')]) == y).all(), 'files and targets in one order'

def test_issues_table_ranks_by_self_confidence():
    p = np.array([[.9, .1]] * 8 + [[.2, .8]] * 8 + [[.15, .85], [.05, .95], [.9, .1]])
    y = np.array([0] * 8 + [1] * 8 + [0, 0, 1])
    t = issues_table([f'{i}.png' for i in range(19)], y, p, ['a', 'b'])
    assert [f.name for f in t.file] == ['17.png', '18.png', '16.png'] and list(t.given) == ['a', 'b', 'a']
    assert list(t.suggested) == ['b', 'a', 'b'] and np.allclose(t.given_prob, [.05, .1, .15])
    with pytest.raises(ValueError, match='do not match'): issues_table(['x.png'], y, p, ['a', 'b'])

def test_label_issues_leaves_out_moved_files(swapped, tmp_path):
    backend, folder, truth, learn, issues = swapped
    if backend != 'fastai': pytest.skip('the learner does not matter here: once is enough')
    f = next(iter(truth))
    j = apply_decisions(folder, {f: 'remove'}, tmp_path/'journals')
    try:
        with pytest.warns(UserWarning, match='no longer where this learner found them'): left = label_issues(learn, all_images=True)
        assert f not in set(left.file) and len(left) == 179  # the forecast is kept: no image is read again
    finally: undo(j)
    assert f.exists()

# decisions, journal, undo: no learner needed

@pytest.fixture
def digits(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path/'cache'))
    return swapped_digits(tmp_path/'digits', n_train=6, n_valid=2, swaps=3, seed=1)

def test_nothing_moves_until_a_batch_is_applied(digits):
    folder, truth = digits
    before = snapshot(folder)
    decisions = {f: true for f, true in truth.items()}
    moves, kept = plan(folder, decisions)
    assert len(moves) == 3 and kept == [] and snapshot(folder) == before
    j = apply_decisions(folder, decisions)
    assert j.path.parent == journal_folder() and not j.path.is_relative_to(folder), 'the journal lives outside the data folder'
    assert Journal.load(j.path).status == 'applied' and j.counts() == {'relabelled': 3, 'removed': 0, 'kept': 0}
    for f, true in truth.items(): assert not f.exists() and (folder/'train'/true/f.name).exists()
    after = snapshot(folder)
    assert sorted(after.values()) == sorted(before.values()), 'contents unchanged: files moved, none written or lost'
    undo_last(folder)
    assert snapshot(folder) == before and [h.status for h in history(folder)] == ['undone']

def test_moves_never_overwrite(digits):
    folder, truth = digits
    f, true = next(iter(truth.items()))
    squatter = folder/'train'/true/f.name
    squatter.write_bytes(b'a file of the user, same name')
    before = snapshot(folder)
    j = apply_decisions(folder, {f: relabel(true), folder/'train'/'0'/sorted(os.listdir(folder/'train'/'0'))[0]: 'remove'})
    assert squatter.read_bytes() == b'a file of the user, same name'
    assert (folder/j.moves[0].dst).name == f'{f.stem}-1{f.suffix}' and len(removed(folder)) == 1
    undo(j.path)
    assert snapshot(folder) == before and removed(folder) == []

def test_undo_refuses_when_files_changed(digits):
    folder, truth = digits
    before = snapshot(folder)
    fs = list(truth)
    j = apply_decisions(folder, {fs[0]: 'remove', fs[1]: 'remove', fs[2]: 'keep'})
    dst = folder/j.moves[0].dst
    dst.write_bytes(b'edited after the move')
    mid = snapshot(folder)
    with pytest.raises(UndoBlocked, match='has changed since the batch moved it there'): undo_last(folder)
    assert snapshot(folder) == mid, 'a refused undo moves nothing'
    dst.unlink()
    with pytest.raises(UndoBlocked, match='is gone'): undo(j)
    assert history(folder)[-1].status == 'applied'
    with pytest.raises(ValueError, match='not a decision'): plan(folder, {fs[2]: 'giraffe'})
    with pytest.raises(FileNotFoundError): plan(folder, {fs[0]: 'keep'})
    assert set(before) - set(snapshot(folder)) == {fs[0], fs[1]}

# the panel

@pytest.fixture
def panel(swapped, tmp_path):
    from tlnb.cleaner import CleanerPanel
    backend, folder, truth, learn, issues = swapped
    if backend != 'fastai': pytest.skip('the panel sees the learner contract only: one backend is enough')
    return CleanerPanel(learn, issues=issues, journals=tmp_path/'journals'), folder, truth

def test_cleaner_flags_persist_across_classes(panel):
    cp, folder, truth = panel
    before = snapshot(folder)
    by_class = {}
    for f, true in truth.items(): by_class.setdefault(f.parent.name, []).append((f, true))
    assert len(by_class) >= 2
    for cls, items in by_class.items():  # decide within each class, switching class between
        cp.filter.value = cls
        assert all(cp.issues.set_index('file').given[f] == cls for f in cp.shown)
        for f, true in items: cp.control(f).value = relabel(true)
    cp.filter.value = ''
    assert cp.decisions == {f: relabel(true) for f, true in truth.items()}
    assert all(cp.control(f).value == relabel(true) for f, true in truth.items()), 'the menus still say so'
    assert snapshot(folder) == before and cp.apply.description == f'Apply {len(truth)} decisions', 'nothing moved yet'
    cp.apply.click()
    for f, true in truth.items(): assert not f.exists() and (folder/'train'/true/f.name).exists()
    assert cp.decisions == {} and not set(truth) & set(cp.candidates.file) and len(cp.batches) == 1
    cp.undo.click()
    assert 'undone' in cp.status.value and snapshot(folder) == before
    assert set(truth) <= set(cp.candidates.file) and all(cp.control(f).value == '' for f in truth if f in cp.shown)

def test_cleaner_reports_a_blocked_undo(panel):
    cp, folder, truth = panel
    f = next(iter(truth))
    cp.control(f).value = 'remove'
    cp.apply.click()
    assert (folder/QUARANTINE/f.relative_to(folder)).exists()
    f.write_bytes(b'in the way')
    cp.undo.click()
    assert 'UndoBlocked' in cp.status.value and f.read_bytes() == b'in the way'
    f.unlink(); cp.undo.click()
    assert 'undone' in cp.status.value and f.exists() and not any((folder/QUARANTINE).rglob('*.png'))
