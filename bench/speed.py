"""#16 side by side, one run: tlnb against the plain fastai way and the plain Keras way, same backbone (the offline
EfficientNet-Lite0), image size, batch size and epochs, on the hymenoptera data (or `--data`).

Each row, and each seed of a row, runs in a Python process of its own, one after the other: no run profits from
another's kept images, cached features, converted bases or warmed-up kernels, and each run's peak memory (resident, the
whole process) is its own (a row prints the largest of its seeds'). Printed per row: the first
epoch, the later epochs (seconds each, and training images per second), the whole run, the peak memory and the final
validation accuracy; then the ratio plain / tlnb of the later epochs and of the whole run. For the Keras rows, "later"
is the second phase (everything training), and "first" the first epoch of the first phase.

- plain fastai: fastai's own `ImageDataLoaders.from_folder` (its defaults: `Resize(size)`, worker processes) and what
  `vision_learner` builds, then `fine_tune(epochs)`: one epoch with the base frozen, `epochs` with everything training.
- plain fastai again, its loader in the training process (`num_workers=0`, as tlnb's): how much of the difference the
  loader processes competing for the cores make.
- tlnb fastai, strategy 1: `tl_learner(path, strategy=1)` and the same `fine_tune(epochs)`; strategy 2: `fit_one_cycle(
  epochs + 1, ...)` at the rates `tlnb train` uses, the lower layer groups frozen (the same number of epochs).
- tlnb fastai, strategy 1 with its speed choices off (no channels-last images, nothing kept in memory): the same numbers,
  so the same accuracy, slower.
- plain Keras: the Keras transfer-learning guide's recipe: `image_dataset_from_directory` (cached and prefetched, as
  the guide's pipeline is), the base frozen and called with
  `training=False`, global average pooling, dropout, a dense layer, Adam; `epochs` epochs; then the base unfrozen,
  Adam(1e-5), `epochs` more.
- tlnb Keras: `tl_learner(path, backend='keras', strategy=1).fine_tune(epochs, freeze_epochs=epochs)`: the same two
  phases at fastai's rates, the base's BatchNorm in inference mode in both, as in the guide (so the first phase trains
  the head on features the frozen base computed once).
- the same with `fine_tune(..., frozen_bn=False)`: BatchNorm trains in both phases, as in fastai's `fine_tune`, so the
  first phase runs the whole base on the images.
- tlnb Keras, strategy 2: `tl_learner(path, backend='keras', strategy=2)` and `fit_one_cycle(2 * epochs, ...)` at the
  rate `tlnb train` uses, the lower layer groups frozen with their BatchNorm (as many epochs as the guide's two phases).
- feature extraction, what strategy 3's first epoch does (the training and validation images through the frozen base):
  the plain PyTorch forward pass against tlnb's (fastai, its opt-in bfloat16 engine, and Keras: `learn.features`),
  images/s, and the ceiling: this CPU's float32 matrix-multiply rate over the base's 0.8 GFLOP an image (the
  bfloat16 engine's accuracy: `bench/precision.py`).

With `--seeds`, each row runs once per seed, and prints the mean of the times and of the accuracy (and each seed's).
For the tlnb Keras strategy-1 row, "first" is an epoch of the head on cached features; the one-time extraction before
it counts in the whole run.

Usage: python bench/speed.py [--epochs 2] [--size 224] [--bs 32] [--seeds 0 ...] [--data PATH] [--rows NAME ...]"""
import argparse, json, os, resource, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = {}  # name -> (label, function(args) -> dict)

def row(name, label):
    def deco(f): ROWS[name] = (label, f); return f
    return deco

def peak_mb()->float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def fastai_times(learn, fit):
    "Per-epoch seconds of `fit()` on a fastai learner, and its validation accuracy after."
    from fastai.vision.all import Callback
    class Times(Callback):
        def before_fit(self): self.t = getattr(self, 't', [])
        def before_epoch(self): self.t0 = time.perf_counter()
        def after_epoch(self): self.t.append(time.perf_counter() - self.t0)
    cb = Times(); learn.add_cb(cb)
    with learn.no_bar(), learn.no_logging():
        t = time.perf_counter(); fit(); total = time.perf_counter() - t
        acc = float(learn.validate()[1])
    learn.remove_cb(cb)
    return dict(times=cb.t, total=total, acc=acc, n=len(learn.dls.train_ds))

def plain_fastai(a, **kwargs):
    sys.path.insert(0, str(HERE))
    from fastai.vision.all import ImageDataLoaders, Resize, set_seed
    from strategy3 import plain_learner
    set_seed(a.seed)
    dls = ImageDataLoaders.from_folder(a.data, train='train', valid='val', item_tfms=Resize(a.size), bs=a.bs, **kwargs)
    learn = plain_learner(dls)
    return fastai_times(learn, lambda: learn.fine_tune(a.epochs))

@row('fastai_plain', 'plain fastai: vision_learner + fine_tune')
def fastai_plain(a): return plain_fastai(a)

@row('fastai_plain_w0', 'plain fastai, no loader processes (num_workers=0)')
def fastai_plain_w0(a): return plain_fastai(a, num_workers=0)

def tlnb_fastai(a, s):
    from tlnb.core.learner import tl_learner
    from tlnb.core.specs import HEADS
    from tlnb.cli import lr_for
    learn = tl_learner(a.data, strategy=s, size=a.size, bs=a.bs, seed=a.seed, verbose=False)
    if s == 1: return fastai_times(learn, lambda: learn.fine_tune(a.epochs))  # the same calls as plain fastai's
    return fastai_times(learn, lambda: learn.fit_one_cycle(a.epochs + 1, lr_for(learn, HEADS[learn.head].lr)))  # as `tlnb train`

@row('fastai_s1', 'tlnb fastai, strategy 1: fine_tune')
def fastai_s1(a): return tlnb_fastai(a, 1)

@row('fastai_s1_off', 'tlnb fastai, strategy 1, speed choices off')
def fastai_s1_off(a):
    "Strategy 1 without channels-last images and with nothing kept in memory: the accuracy the speed choices leave unchanged."
    from tlnb.core import data
    from tlnb.fastai_backend.learner import ChannelsLastInput
    from tlnb.core.learner import tl_learner
    data.KEPT.max_mb = 0
    learn = tl_learner(a.data, strategy=1, size=a.size, bs=a.bs, seed=a.seed, verbose=False)
    learn.remove_cb(ChannelsLastInput)
    return fastai_times(learn, lambda: learn.fine_tune(a.epochs))

@row('fastai_s2', 'tlnb fastai, strategy 2: fit_one_cycle as tlnb train')
def fastai_s2(a): return tlnb_fastai(a, 2)

def keras_timer():
    import keras
    class Times(keras.callbacks.Callback):
        def __init__(self): super().__init__(); self.t = []
        def on_epoch_begin(self, epoch, logs=None): self.t0 = time.perf_counter()
        def on_epoch_end(self, epoch, logs=None): self.t.append(time.perf_counter() - self.t0)
    return Times()

@row('keras_plain', "plain Keras: the transfer-learning guide's recipe")
def keras_plain(a):
    import tlnb.core.learner  # torch before TensorFlow
    from tlnb.core.specs import get_backbone
    from tlnb.keras_backend.backbones import keras_base, Preprocess
    import keras, tensorflow as tf
    keras.utils.set_random_seed(a.seed)
    load = lambda d, shuffle: keras.utils.image_dataset_from_directory(Path(a.data)/d, image_size=(a.size, a.size), batch_size=a.bs,
                                                                       shuffle=shuffle, seed=a.seed, verbose=False).cache().prefetch(tf.data.AUTOTUNE)
    train, valid = load('train', True), load('val', False)
    classes = sorted(d.name for d in (Path(a.data)/'train').iterdir() if d.is_dir())
    bb = get_backbone('efficientnet_lite0')
    base = keras_base(bb); base.trainable = False
    inp = keras.Input((a.size, a.size, 3))
    x = base(Preprocess(bb.recipe('keras').preprocess)(inp), training=False)  # BatchNorm in inference mode, also once unfrozen
    out = keras.layers.Dense(len(classes))(keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x)))
    m = keras.Model(inp, out)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    cb = keras_timer()
    t = time.perf_counter()
    m.compile(keras.optimizers.Adam(), loss, metrics=['accuracy'])
    m.fit(train, epochs=a.epochs, validation_data=valid, callbacks=[cb], verbose=0)
    base.trainable = True
    m.compile(keras.optimizers.Adam(1e-5), loss, metrics=['accuracy'])
    m.fit(train, epochs=a.epochs, validation_data=valid, callbacks=[cb], verbose=0)
    total = time.perf_counter() - t
    n = sum(len(y) for _, y in train)
    return dict(times=cb.t, later=cb.t[a.epochs:], total=total, acc=float(m.evaluate(valid, verbose=0, return_dict=True)['accuracy']), n=n)

def tlnb_keras(a, s, **tune):
    from tlnb.core.learner import tl_learner
    from tlnb.core.specs import HEADS
    from tlnb.cli import lr_for
    learn = tl_learner(a.data, strategy=s, backend='keras', size=a.size, bs=a.bs, seed=a.seed, verbose=False)
    cb = keras_timer()
    fit = learn.fit_one_cycle
    learn.fit_one_cycle = lambda *args, **kw: fit(*args, **{**kw, 'cbs': [cb]})  # time each epoch of both phases
    t = time.perf_counter()
    if s == 1: learn.fine_tune(a.epochs, freeze_epochs=a.epochs, show=False, **tune)  # the guide's two phases, fastai's rates
    else: learn.fit_one_cycle(2 * a.epochs, lr_for(learn, HEADS[learn.head].lr), show=False)  # as `tlnb train`, as many epochs
    total = time.perf_counter() - t
    return dict(times=cb.t, later=cb.t[a.epochs:], total=total, acc=float(learn.validate()[1]), n=len(learn.dls.train.files))

@row('keras_tlnb', 'tlnb Keras: strategy 1, fine_tune')
def keras_tlnb(a): return tlnb_keras(a, 1)

@row('keras_tlnb_bn', 'tlnb Keras: strategy 1, fine_tune(frozen_bn=False)')
def keras_tlnb_bn(a): return tlnb_keras(a, 1, frozen_bn=False)

@row('keras_s2', 'tlnb Keras: strategy 2, fit_one_cycle as tlnb train')
def keras_s2(a): return tlnb_keras(a, 2)

def extraction(a, engine):
    from tlnb.core.learner import tl_learner
    from tlnb.fastai_backend.cache import extract_features
    learn = tl_learner(a.data, strategy=3, size=a.size, bs=a.bs, seed=a.seed, verbose=False)
    dls = [learn.dls.test_dl(dl.items, with_labels=True) for dl in (learn.dls.train, learn.dls.valid)]
    t = time.perf_counter()
    n = sum(len(extract_features(learn.model[0], dl, 1, show=False, channels_last=engine != 'torch', engine=engine)[0]) for dl in dls)
    s = time.perf_counter() - t
    return dict(times=[s], total=s, acc=float('nan'), n=n)

@row('extract_plain', 'feature extraction: plain PyTorch forward')
def extract_plain(a): return extraction(a, 'torch')

@row('extract_tlnb', "feature extraction: tlnb's (engine 'auto')")
def extract_tlnb(a): return extraction(a, 'auto')

@row('extract_bf16', "feature extraction: tlnb's, opt-in engine 'torch-bf16'")
def extract_bf16(a): return extraction(a, 'torch-bf16')

@row('extract_keras', "feature extraction: tlnb Keras's (engine 'auto')")
def extract_keras(a):
    from tlnb.core.learner import tl_learner
    learn = tl_learner(a.data, strategy=3, backend='keras', size=a.size, bs=a.bs, seed=a.seed, verbose=False)
    t = time.perf_counter(); n = sum(len(learn.features(split, passes=1)[0]) for split in ('train', 'valid')); s = time.perf_counter() - t
    return dict(times=[s], total=s, acc=float('nan'), n=n)

def child(a):
    "One row at one seed, in this process; prints its result as a `ROW` line."
    print('ROW ' + json.dumps({**ROWS[a.row][1](a), 'peak_mb': peak_mb()}), flush=True)

def run_one(a, name, seed)->dict|None:
    cmd = [sys.executable, __file__, '--row', name, '--data', a.data, '--epochs', str(a.epochs), '--size', str(a.size), '--bs', str(a.bs),
           '--seed', str(seed)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    line = next((l for l in p.stdout.splitlines() if l.startswith('ROW ')), None)
    if line is None: print(f'{name}, seed {seed}: failed\n{p.stderr[-3000:]}', flush=True); return None
    return json.loads(line[4:])

def run_row(a, name)->dict|None:
    "A row: each seed in a process of its own (nothing kept from one seed to the next), the times and accuracy averaged."
    rs = [run_one(a, name, seed) for seed in a.seeds]
    if None in rs: return None
    mean = lambda v: sum(v) / len(v)
    r = dict(rs[0], times=[mean(t) for t in zip(*(r['times'] for r in rs))], total=mean([r['total'] for r in rs]),
             acc=mean([r['acc'] for r in rs]), accs=[r['acc'] for r in rs], peak_mb=max(r['peak_mb'] for r in rs))
    if 'later' in rs[0]: r['later'] = [mean(t) for t in zip(*(r['later'] for r in rs))]
    return r

def later(r)->list:
    "The epochs compared: those after the first; for the Keras rows, the second phase's (everything training)."
    return r.get('later') or r['times'][1:] or r['times']

def fmt(label, r):
    later_ = later(r)
    rate = r['n'] / (sum(later_) / len(later_))
    acc = '' if r['acc'] != r['acc'] else f"{r['acc']:.4f}"
    return (f"{label:58s}{r['times'][0]:8.1f}{sum(later_) / len(later_):8.1f}{rate:8.1f}{r['total']:8.1f}{r['peak_mb']:8.0f}  {acc}")

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(HERE.parents[1]/'shared'/'data'/'hymenoptera'))
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--rows', nargs='+', default=list(ROWS), choices=list(ROWS))
    p.add_argument('--row', help=argparse.SUPPRESS); p.add_argument('--seed', type=int, help=argparse.SUPPRESS)  # a child process: one row, one seed
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    a = p.parse_args()
    if a.row: return child(a)
    import torch
    print(f'{Path(a.data).name}, efficientnet_lite0 {a.size}px, bs {a.bs}, {a.epochs} epoch(s) (+ the frozen one), '
          f'{os.cpu_count()} cores, torch {torch.__version__}; each row and seed in its own process; seeds {a.seeds} (times and accuracy: their mean)', flush=True)
    print(f"{'':58s}{'first':>8}{'later':>8}{'img/s':>8}{'run':>8}{'peak':>8}  accuracy\n{'':58s}{'s':>8}{'s':>8}{'':>8}{'s':>8}{'MB':>8}")
    res = {}
    for name in a.rows:
        res[name] = run_row(a, name)
        if res[name]: print(fmt(ROWS[name][0], res[name]) + (f"  ({' '.join(f'{v:.4f}' for v in res[name]['accs'])})" if len(a.seeds) > 1 and res[name]['acc'] == res[name]['acc'] else ''), flush=True)
    def ratio(plain, tl, what):
        if not (res.get(plain) and res.get(tl)): return
        P, T = res[plain], res[tl]
        lat = lambda r: sum(later(r)) / len(later(r))
        if what == 'extraction': return print(f"{ROWS[tl][0]} / plain PyTorch: {P['total'] / T['total']:.2f}x faster")
        print(f"{ROWS[tl][0]} / {ROWS[plain][0].split(':')[0]}: later epochs {lat(P) / lat(T):.2f}x faster, whole run {P['total'] / T['total']:.2f}x"
              + ('' if P['acc'] != P['acc'] else f", accuracy {100 * (T['acc'] - P['acc']):+.1f} points"))
    print()
    for tl in ('fastai_plain_w0', 'fastai_s1', 'fastai_s2'): ratio('fastai_plain', tl, 'epoch')
    ratio('fastai_s1_off', 'fastai_s1', 'epoch')
    ratio('keras_plain', 'keras_tlnb', 'epoch'); ratio('keras_plain', 'keras_tlnb_bn', 'epoch'); ratio('keras_plain', 'keras_s2', 'epoch')
    for tl in ('extract_tlnb', 'extract_bf16', 'extract_keras'): ratio('extract_plain', tl, 'extraction')
    if res.get('extract_tlnb') and a.size == 224:
        sys.path.insert(0, str(HERE))
        from extract_speed import matmul_gflops, LITE0_GFLOP
        g = matmul_gflops(); ceil = g / LITE0_GFLOP; r = res['extract_tlnb']
        print(f"extraction ceiling: float32 matrix multiply {g:.0f} GFLOP/s / {LITE0_GFLOP} GFLOP an image = {ceil:.0f} img/s; "
              f"tlnb's extraction {r['n'] / r['total']:.1f} img/s = {r['n'] / r['total'] / ceil:.0%} of it")

if __name__ == '__main__': main()
