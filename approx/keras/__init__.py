"""``approx.keras``: Keras 3's public names for a first course on dense networks.

Course code written for Keras runs with only its import changed::

    from approx import keras                   # instead of: import keras
    from approx.keras import layers

    model = keras.Sequential([keras.Input(shape=(784,)),
                              layers.Dense(128, activation="sigmoid"),
                              layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", metrics=["categorical_accuracy"], optimizer="adam")
    history = model.fit(x_train, y_train, batch_size=128, epochs=5, validation_split=0.1)

The subset: ``Sequential`` models of ``layers`` (Input, Dense, Flatten,
Reshape, Dropout, Activation, Softmax, ReLU, LeakyReLU, Rescaling,
BatchNormalization), ``losses``, ``metrics``, ``optimizers`` (SGD, Adam,
AdamW, RMSprop, Adagrad and ``schedules``), ``callbacks`` (EarlyStopping,
ModelCheckpoint, CSVLogger, ReduceLROnPlateau, LearningRateScheduler, ...),
``datasets.fashion_mnist``, ``utils``, ``ops``, and saving to ``.keras``
files. A Keras name outside it fails at once with a message naming what is
supported. Every epoch of ``fit`` is one compiled JAX program; see
:mod:`approx.keras.models` for where approx differs from Keras and why.
"""

from approx.keras import (
    activations,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    regularizers,
    saving,
    utils,
)
from approx.keras._subset import NotInSubsetError, missing_name
from approx.keras.layers import Input, InputLayer, Layer, Variable
from approx.keras.models import Model, Sequential
from approx.keras.saving import load_model, save_model

__version__ = "3.0.0+approx"

__all__ = [
    "Input", "InputLayer", "Layer", "Model", "NotInSubsetError", "Sequential", "Variable", "activations",
    "backend", "callbacks", "datasets", "initializers", "layers", "load_model", "losses", "metrics", "models", "ops",
    "optimizers", "regularizers", "save_model", "saving", "utils",
]  # fmt: skip


def version() -> str:
    return __version__


__getattr__ = missing_name("keras", "names", __all__)
