"""approx.keras against Keras 3 itself (on its JAX backend): names, losses, forward passes, optimizer steps.

Keras is the reference the course's code was written for; these tests run
when it is installed (the ``test`` extra installs it) and are skipped otherwise.
"""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "jax"
real = pytest.importorskip("keras")
if real.backend.backend() != "jax":
    pytest.skip("Keras was imported with another backend", allow_module_level=True)
from keras.src.trainers import compile_utils  # noqa: E402

import jax  # noqa: E402

from approx import keras as ours  # noqa: E402


def keras_side():
    """Keras broadcasts ranks implicitly; the suite otherwise forbids it (conftest)."""
    return jax.numpy_rank_promotion("allow")

NAMES = [
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "precision", "recall", "auc", "AUC", "f1_score", "mse", "MSE", "mae", "mape",
    "mean_squared_error", "root_mean_squared_error", "r2_score", "binary_crossentropy", "categorical_crossentropy",
    "poisson", "BinaryAccuracy", "Precision",
]  # fmt: skip
SHAPES = [((8, 1), (8, 1)), ((8,), (8, 1)), ((8, 3), (8, 3)), ((8,), (8, 3)), ((8, 1), (8, 3))]


@pytest.mark.parametrize("t_shape, p_shape", SHAPES)
def test_metric_names_resolve_exactly_as_keras_compile_does(t_shape, p_shape):
    import jax.numpy as jnp

    for name in NAMES:
        if name in ("f1_score",) and len(t_shape) == 1:
            continue
        with keras_side():
            theirs = compile_utils.get_metric(name, jnp.zeros(t_shape), jnp.zeros(p_shape))
        mine = ours.metrics.resolve(name, (None, *t_shape[1:]), (None, *p_shape[1:]))
        their_class = type(theirs).__name__ if type(theirs).__name__ != "MeanMetricWrapper" else type(theirs._fn).__name__
        assert mine.name == theirs.name, name
        if type(theirs).__name__ != "MeanMetricWrapper":
            assert type(mine).__name__ == their_class, (name, t_shape, p_shape)


def test_default_names_of_metric_and_loss_objects_match():
    ours.backend.clear_session()
    real.backend.clear_session()
    for _ in range(2):  # Keras numbers objects made without a name: precision, then precision_1
        for cls in ("Precision", "Recall", "AUC", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
                    "F1Score", "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "R2Score"):  # fmt: skip
            assert getattr(ours.metrics, cls)().name == getattr(real.metrics, cls)().name, cls
    for cls in ("BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "MeanSquaredError",
                "MeanAbsoluteError", "MeanAbsolutePercentageError", "Poisson", "Huber"):  # fmt: skip
        assert getattr(ours.losses, cls)().name == getattr(real.losses, cls)().name, cls


LOSSES = [
    ("MeanSquaredError", {}), ("MeanAbsoluteError", {}), ("MeanAbsolutePercentageError", {}),
    ("MeanSquaredLogarithmicError", {}), ("Poisson", {}), ("Huber", {"delta": 0.7}), ("LogCosh", {}),
    ("KLDivergence", {}), ("Hinge", {}), ("SquaredHinge", {}), ("BinaryCrossentropy", {}),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}), ("CategoricalCrossentropy", {}),
    ("CategoricalCrossentropy", {"from_logits": True}), ("CategoricalCrossentropy", {"label_smoothing": 0.2}),
]  # fmt: skip


@pytest.mark.parametrize("name, options", LOSSES)
def test_losses_equal_keras_losses(name, options):
    rng = np.random.default_rng(0)
    y = (rng.uniform(size=(32, 4)) < 0.5).astype(np.float32)
    if name.startswith("Categorical") or name == "KLDivergence":
        y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 32)]
    p = rng.uniform(0.02, 0.98, size=(32, 4)).astype(np.float32)
    if options.get("from_logits"):
        p = rng.normal(size=(32, 4)).astype(np.float32)
    mine = float(getattr(ours.losses, name)(**options)(y, p))
    with keras_side():
        theirs = float(getattr(real.losses, name)(**options)(y, p))
    assert mine == pytest.approx(theirs, rel=2e-5, abs=1e-6)


def test_sparse_and_column_shapes_equal_keras():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, 20)
    logits = rng.normal(size=(20, 5)).astype(np.float32)
    for options in ({}, {"from_logits": True}):
        probs = logits if options else np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        with keras_side():
            theirs = float(real.losses.SparseCategoricalCrossentropy(**options)(labels, probs))
        assert float(ours.losses.SparseCategoricalCrossentropy(**options)(labels, probs)) == pytest.approx(theirs, rel=1e-5)
    y = rng.normal(size=20).astype(np.float32)
    p = rng.normal(size=(20, 1)).astype(np.float32)
    with keras_side():
        theirs = float(real.losses.MeanSquaredError()(y, p))
    assert float(ours.losses.MeanSquaredError()(y, p)) == pytest.approx(theirs, rel=1e-6)


def _both(make):
    mine = make(ours)
    with keras_side():
        theirs = make(real)
        theirs.set_weights(mine.get_weights())
    return mine, theirs


def test_forward_passes_and_parameter_counts_equal_keras():
    def make(k):
        return k.Sequential([
            k.Input(shape=(6, 5)), k.layers.Rescaling(0.5, offset=0.1), k.layers.Flatten(),
            k.layers.Dense(16, activation="gelu"), k.layers.BatchNormalization(), k.layers.Dense(12, activation="selu"),
            k.layers.Dropout(0.4), k.layers.Dense(8, activation="elu"), k.layers.Dense(3), k.layers.Softmax(),
        ])  # fmt: skip

    mine, theirs = _both(make)
    rng = np.random.default_rng(2)
    weights = [w + rng.normal(scale=0.1, size=w.shape).astype(np.float32) for w in mine.get_weights()]
    weights[3] = np.abs(weights[3]) + 0.5  # a positive moving variance
    mine.set_weights(weights)
    x = rng.normal(size=(9, 6, 5)).astype(np.float32)
    with keras_side():
        theirs.set_weights(weights)
        expected = np.asarray(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(mine.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-6)
    assert mine.count_params() == theirs.count_params()
    assert [tuple(w.shape) for w in mine.weights] == [tuple(w.shape) for w in theirs.weights]


@pytest.mark.parametrize(
    "name, options, steps",
    [("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}, 5), ("RMSprop", {"learning_rate": 0.01}, 5),
     ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}, 5), ("Adagrad", {"learning_rate": 0.1}, 5),
     ("Adam", {"learning_rate": 0.01}, 5), ("AdamW", {"learning_rate": 0.01}, 5)],
)  # fmt: skip
def test_optimizer_steps_follow_keras(name, options, steps):
    import jax.numpy as jnp

    from approx.keras.optimizers import initial_state

    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(7,)).astype(np.float32)
    grads = [rng.normal(size=(7,)).astype(np.float32) for _ in range(steps)]
    variable = real.Variable(w0)
    theirs = getattr(real.optimizers, name)(**options)
    with keras_side():
        for g in grads:
            theirs.apply_gradients([(real.ops.convert_to_tensor(g), variable)])
    mine = getattr(ours.optimizers, name)(**options)
    params = {"w": jnp.asarray(w0)}
    state = initial_state(mine, params)
    for g in grads:
        updates, state = mine.transform.update({"w": jnp.asarray(g)}, state, params)
        params = {"w": params["w"] + updates["w"]}
    # Adam's epsilon sits before the bias correction in Keras and after it in Optax (see approx.keras.optimizers).
    tol = 1e-4 if name.startswith("Adam") else 1e-6
    np.testing.assert_allclose(np.asarray(params["w"]), np.asarray(variable.value), rtol=tol, atol=tol)
