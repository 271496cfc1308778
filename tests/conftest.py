import pytest
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent/'shared'/'data'

@pytest.fixture(scope='session')
def hymenoptera()->Path:
    "The real ants-and-bees data beside the project, or a skip that says why."
    p = SHARED/'hymenoptera'
    if not p.is_dir(): pytest.skip(f'real data absent: {p} not found (it sits in ../shared/data beside the project)')
    return p

@pytest.fixture(scope='session')
def hym_subset(hymenoptera, tmp_path_factory)->Path:
    "A small split copy of the hymenoptera data made of symlinks (the shared data is read in place, never copied)."
    root = tmp_path_factory.mktemp('hym')
    for split, n in (('train', 40), ('val', 25)):
        for cls in ('ants', 'bees'):
            (root/split/cls).mkdir(parents=True)
            for f in sorted((hymenoptera/split/cls).glob('*.jpg'))[:n]: (root/split/cls/f.name).symlink_to(f)
    (root/'train'/'ants'/'imageNotFound.gif').symlink_to(hymenoptera/'train'/'ants'/'imageNotFound.gif')
    return root
