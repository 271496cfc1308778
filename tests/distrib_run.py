"""On digits (32 px) in N processes with `tlnb.core.distrib.launch`: the pretrained base's features (cached as `--cache` says),
then training; each process writes what it ended with to OUT/<rank>.json.

python tests/distrib_run.py OUT N [--strategy S] [--epochs E] [--cache true|false|disk] [--backend fastai|keras]
(used by nbs/15_fastai_backend.distrib.ipynb, nbs/25_keras_backend.distrib.ipynb and tests/test_distrib.py)"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path
from tlnb.core.distrib import launch, rank

def run_processes(n:int, out:Path, *flags, timeout:int=500, env=None)->list[dict]:
    "This script on `n` processes (all killed after `timeout` s); what each process wrote."
    p = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), str(out), str(n), *flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True, env=env)
    try: log = p.communicate(timeout=timeout)[0]
    finally:
        if p.poll() is None: os.killpg(p.pid, 9); p.communicate()
    assert p.returncode == 0, log[-3000:]
    return [json.loads(f.read_text()) for f in sorted(Path(out).glob('*.json'))]

def train(out:str, processes:int, strategy:int, epochs:int, cache, backend:str):
    from tlnb.core.learner import tl_learner
    from tlnb.core.data import digits_folder
    learn = tl_learner(digits_folder(), strategy=strategy, size=32, bs=32, seed=0, verbose=False, cache=cache, backend=backend)
    x, _ = learn.features('train', passes=1)  # the pretrained base's: each process extracts its share
    learn.features('valid')
    t = time.time()
    with learn.quiet(): learn.fit_one_cycle(epochs, slice(1e-4, 1e-3) if strategy < 3 else 1e-2)
    secs = time.time() - t
    with learn.quiet(): acc = float(learn.validate()[1])
    learn.export(Path(out)/f'model{learn_suffix(backend)}', overwrite=True)
    Path(out, f'{rank()}.json').write_text(json.dumps(dict(processes=processes, accuracy=acc, seconds=secs, weights=weights_sum(learn),
                                                        features=[float(x.astype('float64').sum()), len(x)])))

def learn_suffix(backend): return {'fastai': '.pkl', 'keras': '.keras'}[backend]

def weights_sum(learn)->float:
    "The sum of every weight of the learner's model, to see whether processes agree."
    if hasattr(learn.model, 'parameters'): return float(sum(p.detach().double().sum() for p in learn.model.parameters()))
    return float(sum(w.numpy().astype('float64').sum() for w in learn.model.weights))

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('out'); p.add_argument('processes', type=int)
    p.add_argument('--strategy', type=int, default=2); p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--cache', default='true'); p.add_argument('--backend', default='fastai')
    a = p.parse_args()
    cache = {'true': True, 'false': False}.get(a.cache, a.cache)
    launch(train, a.out, a.processes, a.strategy, a.epochs, cache, a.backend, processes=a.processes, backend=a.backend)
