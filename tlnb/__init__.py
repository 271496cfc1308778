"""Transfer learning for image classification from a notebook cell: pretrained bases, the size-similarity matrix, fastai and Keras

Modules:

- `tlnb.panels`: Widgets that drive a tlnb learner: where the data sit on the size-similarity matrix, which layer groups train, and the learning-rate finder"""

__version__ = "0.0.1"
