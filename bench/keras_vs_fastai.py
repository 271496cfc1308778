"""The Keras backend against the fastai backend, and against the plain Keras way, on the hymenoptera data, in one run.

Same images, split, backbone (offline EfficientNet-Lite0, the Keras twin converted from the same PyTorch weights),
image size, strategy, head, epochs, rate and schedule (one-cycle) on both backends; several seeds, mean validation
accuracy printed side by side. Then the speed of tlnb's Keras strategy 3 (head on cached features) against plain
Keras (frozen base, `model.fit` over the images every epoch, Keras' Adam), and the Keras lr_find.

Usage: python bench/keras_vs_fastai.py [--size 224] [--epochs 5] [--lr 3e-3] [--seeds 0 1 2] [--strategy 3] [--data PATH]"""
import argparse, statistics, time
from pathlib import Path
from tlnb.core.learner import tl_learner  # torch first: tlnb imports it before TensorFlow
from tlnb.core.data import scan_folder
from tlnb.core.specs import HEADS, get_backbone
from tlnb.core.cache import FEATURES
from tlnb.fastai_backend.data import tl_dls
from tlnb.keras_backend.data import keras_data
from tlnb.keras_backend.learner import keras_model
import keras

def timed(f):
    t = time.perf_counter(); r = f(); return r, time.perf_counter() - t

def run_fastai(dls, strategy, epochs, lr, seed):
    learn = tl_learner(dls, strategy=strategy, seed=seed, verbose=False)
    with learn.quiet():
        _, t = timed(lambda: learn.fit_one_cycle(epochs, lr))
        return float(learn.validate()[1]), t

def run_keras(kd, strategy, epochs, lr, seed):
    learn = tl_learner(kd, strategy=strategy, backend='keras', seed=seed, verbose=False)
    _, t = timed(lambda: learn.fit_one_cycle(epochs, lr, show=False))
    return learn.validate()[1], t

class EpochTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None): self.times = []
    def on_epoch_begin(self, epoch, logs=None): self.t = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None): self.times.append(time.perf_counter() - self.t)

def plain_keras(kd, epochs, lr):
    "The usual Keras transfer learning: base.trainable = False, compile, fit on the images (same model, Keras' Adam)."
    keras.utils.set_random_seed(0)
    m = keras_model(get_backbone('efficientnet_lite0'), kd.c, HEADS['fc'])
    m.get_layer('efficientnet_lite0').trainable = False  # the base
    m.compile(keras.optimizers.Adam(lr), keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=['accuracy'])
    cb = EpochTimes()
    m.fit(kd.train, epochs=epochs, validation_data=kd.valid, callbacks=[cb], verbose=0)
    return dict(first=cb.times[0], later=statistics.mean(cb.times[1:]), acc=m.evaluate(kd.valid, verbose=0, return_dict=True)['accuracy'])

def tlnb_keras_times(kd, epochs, lr):
    "tlnb's Keras strategy 3: lr_find before and after the features are extracted, then one-cycle on them."
    FEATURES.clear()
    learn = tl_learner(kd, strategy=3, backend='keras', seed=0, verbose=False)
    _, cold = timed(lambda: learn.lr_find(show_plot=False))
    _, warm = timed(lambda: learn.lr_find(show_plot=False))
    cb = EpochTimes()
    learn.fit_one_cycle(epochs, lr, show=False, cbs=[cb])
    return dict(first=cb.times[0], later=statistics.mean(cb.times[1:]), acc=learn.validate()[1], lr_find=warm, lr_find_cold=cold)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=str(Path(__file__).resolve().parents[1].parent/'shared'/'data'/'hymenoptera'))
    p.add_argument('--size', type=int, default=224); p.add_argument('--epochs', type=int, default=5)
    p.add_argument('--lr', type=float, default=3e-3); p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--strategy', type=int, default=3); p.add_argument('--no-plain', action='store_true')
    a = p.parse_args()
    rep = scan_folder(a.data)
    dls, kd = tl_dls(rep, size=a.size, verbose=False), keras_data(rep, size=a.size, verbose=False)
    print(f'hymenoptera {len(kd.train.files)} train / {len(kd.valid.files)} valid, efficientnet_lite0 {a.size}px, strategy {a.strategy}, '
          f'head fc, {a.epochs} epochs one-cycle lr {a.lr}, bs {kd.bs}, seeds {a.seeds}', flush=True)
    res = {}
    for name, f, d in (('fastai', run_fastai, dls), ('keras', run_keras, kd)):
        res[name] = [f(d, a.strategy, a.epochs, a.lr, s) for s in a.seeds]
        print(f'{name:7} accuracy per seed ' + ' '.join(f'{acc:.4f}' for acc, _ in res[name])
              + f'  mean {statistics.mean(acc for acc, _ in res[name]):.4f}  training {statistics.mean(t for _, t in res[name]):.1f}s per run', flush=True)
    diff = statistics.mean(acc for acc, _ in res['keras']) - statistics.mean(acc for acc, _ in res['fastai'])
    print(f'keras - fastai: {diff * 100:+.2f} points (target: within 2)', flush=True)
    if a.no_plain or a.strategy != 3: return
    plain, tl = plain_keras(kd, a.epochs, a.lr), tlnb_keras_times(kd, a.epochs, a.lr)
    print(f'\n{"":24}{"first epoch":>12}{"later epochs":>14}{"accuracy":>10}')
    for name, r in (('plain Keras (frozen)', plain), ('tlnb Keras strategy 3', tl)):
        print(f'{name:24}{r["first"]:11.2f}s{r["later"]:13.3f}s{r["acc"]:10.4f}')
    print(f'tlnb Keras lr_find: {tl["lr_find_cold"]:.2f}s with the features not yet extracted, {tl["lr_find"]:.2f}s after '
          '(tlnb\'s first epoch above runs on features lr_find extracted)')
    print(f'speed-up over plain Keras: later epochs {plain["later"] / tl["later"]:.0f}x')

if __name__ == '__main__': main()
