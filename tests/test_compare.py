"""Choosing the base by measurement (`tlnb.core.compare`, `arch='auto'`): on a folder where one base is clearly worse,
whatever its ImageNet score says, `auto` does not pick it; the table's probe agrees with a refit by hand; a base whose
weights are not here is listed as unavailable, not an error; `tlnb compare` prints the table."""
import os, subprocess, sys
from dataclasses import replace
from pathlib import Path
import numpy as np, pytest
from tlnb.core.specs import BACKBONES, Weights
from tlnb.core.weights import weights_path
from tlnb.core.learner import tl_learner
from tlnb.core.compare import compare_backbones, choose_backbone
from tlnb.core.cleaning import swapped_digits
from tlnb.core.probe import cv_predict, probe_model

@pytest.fixture(scope='module')
def digits(tmp_path_factory):
    "Three digit classes, 60 training and 5 validation images each, 32 px, labels as they are."
    return swapped_digits(tmp_path_factory.mktemp('d')/'digits', swaps=0, size=32)[0]

@pytest.fixture
def blank_base(tmp_path, monkeypatch):
    "EfficientNet-Lite0 with its convolutions zeroed (its features say nothing) under a new name, claiming the best ImageNet score."
    import torch, timm
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'torch'))
    lite0 = BACKBONES['efficientnet_lite0']
    spec = replace(lite0, name='blank_lite0', doc='Lite0, convolutions zeroed', top1=99.9, keras=None,
                   torch=replace(lite0.torch, weights=Weights(url='https://example.invalid/blank_lite0.pth')))
    sd = {k: torch.zeros_like(v) if v.ndim == 4 else v for k, v in timm.create_model('tf_efficientnet_lite0').state_dict().items()}
    f = weights_path(spec.torch.weights)
    f.parent.mkdir(parents=True, exist_ok=True); torch.save(sd, f)
    monkeypatch.setitem(BACKBONES, spec.name, spec)
    return spec.name

def test_auto_picks_by_measurement(digits, blank_base, capsys):
    learn = tl_learner(digits, strategy=3, arch='auto', size=32, bs=16, seed=0)
    t = learn.backbones.set_index('arch')
    assert t.status[blank_base] == 'measured' and t.probe[blank_base] < 0.5 < t.probe[learn.arch]  # chance is 1/3
    assert learn.arch != blank_base and learn.arch == choose_backbone(learn.backbones)[0]
    assert f'tlnb: arch auto -> {learn.arch}: its features give the best linear probe' in capsys.readouterr().out
    x, y = learn.features('train', passes=1)  # the chosen base's features, from the cache
    assert np.isclose((cv_predict(probe_model(), x, y, 5, 0).argmax(1) == y).mean(), t.probe[learn.arch], atol=1e-4)
    with learn.quiet(): learn.fit_one_cycle(2)
    assert learn.validate()[1] > 0.8

def test_missing_weights_are_listed(digits, monkeypatch, tmp_path):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'empty'))
    t = compare_backbones(digits, ['resnet18', 'efficientnet_lite0'], size=32, bs=16, verbose=False).set_index('arch')
    assert t.status['efficientnet_lite0'] == 'measured'
    assert t.status['resnet18'].startswith('unavailable: weights not on this machine') and 'resnet18-f37072fd.pth' in t.status['resnet18']
    assert np.isnan(t.probe['resnet18'])

def test_cli_compare(digits, tmp_path):
    env = dict(os.environ, TORCH_HOME=str(tmp_path/'empty'))
    r = subprocess.run(['tlnb', 'compare', str(digits), '--archs', 'efficientnet_lite0', 'resnet18', '--size', '32', '--bs', '16'],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert 'resnet18: unavailable' in r.stdout and 'choice: efficientnet_lite0' in r.stdout
    bad = subprocess.run(['tlnb', 'compare', str(tmp_path/'nope')], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith('tlnb: error: ') and 'does not exist' in bad.stderr
