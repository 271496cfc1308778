"""Transfer learning for image classification from a notebook cell: pretrained bases, the size-similarity matrix, fastai and Keras"""

__version__ = "0.0.1"
