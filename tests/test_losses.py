"""Tests for approx.losses: closed forms in NumPy, stability, shapes, registry, jit."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from approx import losses

EPS = 1e-7
RTOL = 1e-5  # float32 against a float64 NumPy reference
SEEDS = (0, 1, 2)
N, K = 37, 4


# --- independent NumPy references (float64) ------------------------------


def _f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


def ref_mse(y, p):
    y, p = _f64(y, p)
    return np.mean((y - p) ** 2)


def ref_mae(y, p):
    y, p = _f64(y, p)
    return np.mean(np.abs(y - p))


def ref_mape(y, p):
    y, p = _f64(y, p)
    return 100.0 * np.mean(np.abs(y - p) / np.maximum(np.abs(y), EPS))


def ref_poisson(y, p):
    y, p = _f64(y, p)
    return np.mean(p - y * np.log(p + EPS))


def ref_bce(y, p):
    y, p = _f64(y, p)
    p = np.clip(p, EPS, 1 - EPS)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def ref_bce_logits(y, z):
    y, z = _f64(y, z)
    # max(z, 0) - z y + log(1 + exp(-|z|)): the overflow-free form.
    return np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))


def ref_cce(y, p):
    y, p = _f64(y, p)
    p = np.clip(p / p.sum(axis=-1, keepdims=True), EPS, 1 - EPS)
    return -np.mean(np.sum(y * np.log(p), axis=-1))


def ref_cce_logits(y, z):
    y, z = _f64(y, z)
    shifted = z - z.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.mean(np.sum(y * log_p, axis=-1))


def one_hot(labels, k):
    return np.eye(k, dtype=np.float32)[labels]


# --- random inputs (float32, from a seeded Generator) -------------------


def regression(rng):
    y = rng.normal(size=(N, 3)).astype(np.float32)
    return y, (y + rng.normal(size=y.shape)).astype(np.float32)


def regression_vector(rng):
    y = rng.normal(size=N).astype(np.float32)
    return y, (y + rng.normal(size=N)).astype(np.float32)


def rates(rng):
    counts = rng.poisson(3.0, size=(N, 2)).astype(np.float32)
    return counts, rng.uniform(0.1, 6.0, size=(N, 2)).astype(np.float32)


def binary_probs(rng):
    y = rng.integers(0, 2, size=N).astype(np.float32)
    return y, rng.uniform(0.01, 0.99, size=N).astype(np.float32)


def binary_logits(rng):
    y = rng.integers(0, 2, size=N).astype(np.float32)
    return y, (3 * rng.normal(size=N)).astype(np.float32)


def class_probs(rng):
    """One-hot targets and unnormalised positive scores (Keras renormalises)."""
    y = one_hot(rng.integers(0, K, size=N), K)
    return y, rng.uniform(0.01, 2.0, size=(N, K)).astype(np.float32)


def class_logits(rng):
    y = one_hot(rng.integers(0, K, size=N), K)
    return y, (3 * rng.normal(size=(N, K))).astype(np.float32)


def sparse(make):
    """Turns a one-hot case into an integer-label case."""

    def make_sparse(rng):
        y, p = make(rng)
        return np.argmax(y, axis=-1).astype(np.int32), p

    return make_sparse


def sparse_ref(ref):
    return lambda y, p: ref(one_hot(y, np.shape(p)[-1]), p)


SCE_LOGITS = functools.partial(losses.sparse_categorical_crossentropy, from_logits=True)

# name -> (loss, reference, inputs)
CASES = {
    "mse": (losses.mse, ref_mse, regression),
    "mse_vector": (losses.mse, ref_mse, regression_vector),
    "mae": (losses.mae, ref_mae, regression),
    "mape": (losses.mape, ref_mape, regression),
    "poisson": (losses.poisson, ref_poisson, rates),
    "bce": (losses.binary_crossentropy, ref_bce, binary_probs),
    "bce_logits": (
        functools.partial(losses.binary_crossentropy, from_logits=True),
        ref_bce_logits,
        binary_logits,
    ),
    "cce": (losses.categorical_crossentropy, ref_cce, class_probs),
    "cce_logits": (
        functools.partial(losses.categorical_crossentropy, from_logits=True),
        ref_cce_logits,
        class_logits,
    ),
    "scce": (
        losses.sparse_categorical_crossentropy,
        sparse_ref(ref_cce),
        sparse(class_probs),
    ),
    "scce_logits": (SCE_LOGITS, sparse_ref(ref_cce_logits), sparse(class_logits)),
}


@pytest.fixture(autouse=True)
def _no_rank_promotion():
    """Any implicit broadcast between arrays of different rank is an error."""
    with jax.numpy_rank_promotion("raise"):
        yield


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", CASES)
def test_matches_closed_form(case, seed):
    loss, ref, make = CASES[case]
    y, p = make(np.random.default_rng(seed))
    value = loss(jnp.asarray(y), jnp.asarray(p))
    assert value.shape == ()
    assert value.dtype == jnp.float32
    np.testing.assert_allclose(value, ref(y, p), rtol=RTOL)


@pytest.mark.parametrize("case", CASES)
def test_under_jit_equals_eager(case):
    loss, _, make = CASES[case]
    y, p = make(np.random.default_rng(7))
    np.testing.assert_allclose(jax.jit(loss)(y, p), loss(y, p), rtol=RTOL)


def test_jit_does_not_retrace_for_new_values():
    traces = []

    @jax.jit
    def step(y, p):
        traces.append(None)  # runs only while tracing
        return losses.categorical_crossentropy(y, p, from_logits=True)

    rng = np.random.default_rng(3)
    for _ in range(3):
        step(*class_logits(rng))
    assert len(traces) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_from_logits_equals_probability_path(seed):
    y, z = binary_logits(np.random.default_rng(seed))
    z = z / 2  # keep sigmoid(z) away from the clip at 1 - 1e-7
    from_logits = losses.binary_crossentropy(y, z, from_logits=True)
    from_probs = losses.binary_crossentropy(y, jax.nn.sigmoid(z))
    np.testing.assert_allclose(from_logits, from_probs, rtol=RTOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("sparse_labels", [False, True], ids=["onehot", "sparse"])
def test_categorical_from_logits_equals_probability_path(seed, sparse_labels):
    y, z = class_logits(np.random.default_rng(seed))
    loss = losses.categorical_crossentropy
    if sparse_labels:
        y, loss = np.argmax(y, axis=-1), losses.sparse_categorical_crossentropy
    from_logits = loss(y, z / 2, from_logits=True)
    from_probs = loss(y, jax.nn.softmax(z / 2, axis=-1))
    np.testing.assert_allclose(from_logits, from_probs, rtol=RTOL)


def test_sparse_equals_categorical_on_one_hot():
    y, p = class_probs(np.random.default_rng(4))
    labels = np.argmax(y, axis=-1)
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(labels[:, None], p),
        losses.categorical_crossentropy(y, p),
        rtol=RTOL,
    )


def test_categorical_renormalises_probabilities():
    y, p = class_probs(np.random.default_rng(5))
    np.testing.assert_allclose(
        losses.categorical_crossentropy(y, 3 * p),
        losses.categorical_crossentropy(y, p / p.sum(axis=-1, keepdims=True)),
        rtol=RTOL,
    )


# --- numerical stability ------------------------------------------------------

STABILITY = {
    "bce_probs_exact": (
        losses.binary_crossentropy,
        np.array([0.0, 1.0, 0.0, 1.0], np.float32),
        np.array([0.0, 1.0, 1.0, 0.0], np.float32),
    ),
    "bce_logits_100": (
        functools.partial(losses.binary_crossentropy, from_logits=True),
        np.array([0.0, 1.0, 0.0, 1.0], np.float32),
        np.array([-100.0, 100.0, 100.0, -100.0], np.float32),
    ),
    "cce_probs_exact": (
        losses.categorical_crossentropy,
        one_hot(np.array([0, 1]), 2),
        np.array([[1.0, 0.0], [1.0, 0.0]], np.float32),
    ),
    "cce_logits_100": (
        functools.partial(losses.categorical_crossentropy, from_logits=True),
        one_hot(np.array([0, 1]), 2),
        np.array([[100.0, -100.0], [100.0, -100.0]], np.float32),
    ),
    "scce_probs_exact": (
        losses.sparse_categorical_crossentropy,
        np.array([0, 1]),
        np.array([[1.0, 0.0], [1.0, 0.0]], np.float32),
    ),
    "scce_logits_100": (
        SCE_LOGITS,
        np.array([0, 1]),
        np.array([[100.0, -100.0], [100.0, -100.0]], np.float32),
    ),
    "poisson_zero_rate": (
        losses.poisson,
        np.array([0.0, 2.0], np.float32),
        np.array([0.0, 0.0], np.float32),
    ),
    "mape_zero_target": (
        losses.mape,
        np.array([0.0, 1.0], np.float32),
        np.array([0.0, 1.0], np.float32),
    ),
}


@pytest.mark.parametrize("case", STABILITY)
def test_extreme_inputs_give_finite_loss_and_gradient(case):
    loss, y, p = STABILITY[case]
    value, grad = jax.value_and_grad(lambda q: loss(y, q))(jnp.asarray(p))
    assert np.isfinite(value)
    assert np.all(np.isfinite(grad))


def test_bce_clips_exact_probabilities_like_keras():
    # Keras clips p to [1e-7, 1 - 1e-7] in float32, where 1 - 1e-7 rounds to
    # 1 - 2**-23: a sure right answer costs ~0, a sure wrong one -log(2**-23).
    top = np.float64(np.float32(1 - EPS))
    expected = -0.5 * (np.log(top) + np.log(1 - top))
    y, p = np.array([1.0, 0.0], np.float32), np.array([1.0, 1.0], np.float32)
    np.testing.assert_allclose(losses.binary_crossentropy(y, p), expected, rtol=RTOL)


def test_logits_100_are_exact():
    y = np.array([1.0, 0.0], np.float32)
    z = np.array([100.0, 100.0], np.float32)
    # Right with logit 100 costs ~e^-100 = 0, wrong costs ~100.
    np.testing.assert_allclose(
        losses.binary_crossentropy(y, z, from_logits=True), 50.0, rtol=RTOL
    )


# --- shapes ---------------------------------------------------------------------


@pytest.mark.parametrize("loss", [losses.mse, losses.mae, losses.mape, losses.poisson])
def test_regression_accepts_vector_target_against_column_prediction(loss):
    y, p = rates(np.random.default_rng(6))
    y, p = y[:, 0], p[:, :1]
    np.testing.assert_allclose(loss(y, p), loss(y, p[:, 0]), rtol=RTOL)


@pytest.mark.parametrize("pred_shape", [(N,), (N, 1)])
@pytest.mark.parametrize("true_shape", [(N,), (N, 1)])
def test_bce_accepts_vector_or_column(true_shape, pred_shape):
    y, p = binary_probs(np.random.default_rng(8))
    value = losses.binary_crossentropy(y.reshape(true_shape), p.reshape(pred_shape))
    np.testing.assert_allclose(value, ref_bce(y, p), rtol=RTOL)


MISMATCHES = {
    "mse_column_vs_vector": (losses.mse, (N, 1), (N,)),
    "mse_lengths": (losses.mse, (N,), (N + 1,)),
    "mae_columns": (losses.mae, (N, 2), (N, 3)),
    "mape_matrix_vs_vector": (losses.mape, (N, 2), (N,)),
    "poisson_transposed": (losses.poisson, (N, 1), (1, N)),
    "bce_lengths": (losses.binary_crossentropy, (N,), (N + 1, 1)),
    "bce_two_columns": (losses.binary_crossentropy, (N,), (N, 2)),
    "cce_classes": (losses.categorical_crossentropy, (N, K), (N, K + 1)),
    "cce_vector": (losses.categorical_crossentropy, (N,), (N,)),
    "scce_lengths": (losses.sparse_categorical_crossentropy, (N + 1,), (N, K)),
    "scce_one_hot": (losses.sparse_categorical_crossentropy, (N, K), (N, K)),
}


@pytest.mark.parametrize("case", MISMATCHES)
def test_shape_mismatch_raises_naming_both_shapes(case):
    loss, true_shape, pred_shape = MISMATCHES[case]
    y, p = np.ones(true_shape, np.float32), np.full(pred_shape, 0.5, np.float32)
    with pytest.raises(ValueError) as info:
        loss(y, p)
    assert str(true_shape) in str(info.value)
    assert str(pred_shape) in str(info.value)


# --- registry -------------------------------------------------------------------

NAMES = {
    "mse": losses.mse,
    "mean_squared_error": losses.mse,
    "mae": losses.mae,
    "mean_absolute_error": losses.mae,
    "mape": losses.mape,
    "mean_absolute_percentage_error": losses.mape,
    "binary_crossentropy": losses.binary_crossentropy,
    "bce": losses.binary_crossentropy,
    "categorical_crossentropy": losses.categorical_crossentropy,
    "cce": losses.categorical_crossentropy,
    "sparse_categorical_crossentropy": losses.sparse_categorical_crossentropy,
    "poisson": losses.poisson,
}


@pytest.mark.parametrize("name", NAMES)
def test_get_resolves_short_and_keras_names(name):
    assert losses.get(name) is NAMES[name]
    assert losses.get(name.upper()) is NAMES[name]


def test_names_lists_every_registered_name():
    assert losses.names() == sorted(NAMES)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown loss 'foo'; valid names: ") as info:
        losses.get("foo")
    for name in NAMES:
        assert name in str(info.value)


def test_custom_callable_passes_through():
    def half_mse(y_true, y_pred):
        return 0.5 * jnp.mean((y_true - y_pred) ** 2)

    assert losses.get(half_mse) is half_mse


def test_get_rejects_other_types():
    with pytest.raises(TypeError):
        losses.get(3)


def test_integer_targets_are_cast():
    y = np.array([0, 1, 2])
    p = np.array([0.5, 1.0, 2.5], np.float32)
    np.testing.assert_allclose(losses.mse(y, p), (0.25 + 0 + 0.25) / 3, rtol=RTOL)
