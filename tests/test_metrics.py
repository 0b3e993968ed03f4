"""Tests for approx.metrics against scikit-learn on random and tied inputs."""

import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

from approx import metrics

N, K = 61, 4
SEEDS = (0, 1, 2)
TOL = 1e-6


def one_hot(labels, k):
    return np.eye(k)[labels]


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- classification cases ---------------------------------------------------
# Each builds (labels, y_pred, predicted labels, number of classes) from a
# seeded Generator; the predicted labels are decoded here, independently of
# the library (threshold at 0.5, or argmax).


def binary_vector(rng):
    y = rng.integers(0, 2, size=N)
    p = np.clip(0.35 * y + rng.uniform(0, 0.65, size=N), 0, 1)
    return y, p, (p > 0.5).astype(int), 2


def binary_column(rng):
    y, p, pred, k = binary_vector(rng)
    return y, p[:, None], pred, k


def binary_tied(rng):
    """Scores on a coarse grid: many ties, some exactly at the threshold."""
    y = rng.integers(0, 2, size=N)
    p = np.round(0.3 * y + rng.uniform(0, 0.7, size=N), 1)
    return y, p, (p > 0.5).astype(int), 2


def binary_two_columns(rng):
    y = rng.integers(0, 2, size=N)
    p = softmax(rng.normal(size=(N, 2)) + 1.5 * one_hot(y, 2))
    return y, p, np.argmax(p, axis=-1), 2


def multiclass_probs(rng):
    y = rng.integers(0, K, size=N)
    p = softmax(rng.normal(size=(N, K)) + 1.0 * one_hot(y, K))
    return y, p, np.argmax(p, axis=-1), K


def multiclass_labels(rng):
    """Predicted labels given directly, as an integer vector."""
    y = rng.integers(0, K, size=N)
    pred = np.where(rng.uniform(size=N) < 0.6, y, rng.integers(0, K, size=N))
    return y, pred, pred, K


def multiclass_rare(rng):
    """A class that is never predicted (its precision is 0/0 -> 0)."""
    y, p, _, k = multiclass_probs(rng)
    p[:, 3] = 0.0
    return y, p, np.argmax(p, axis=-1), k


def multiclass_absent(rng):
    """A score column whose class occurs neither in y_true nor in predictions:
    like sklearn, the macro average skips it."""
    y = rng.integers(0, K - 1, size=N)
    p = softmax(rng.normal(size=(N, K)) + one_hot(y, K))
    p[:, K - 1] = 0.0
    return y, p, np.argmax(p, axis=-1), K


CLASSIFICATION = {
    "binary_vector": binary_vector,
    "binary_column": binary_column,
    "binary_tied": binary_tied,
    "binary_two_columns": binary_two_columns,
    "multiclass_probs": multiclass_probs,
    "multiclass_labels": multiclass_labels,
    "multiclass_rare": multiclass_rare,
    "multiclass_absent": multiclass_absent,
}

ENCODINGS = {
    "int": lambda y, k: y,
    "int_column": lambda y, k: y[:, None],
    "onehot": one_hot,
}


def _average(k):
    return "binary" if k == 2 else "macro"


SKLEARN = {
    "accuracy": (metrics.accuracy, lambda y, pred, k: skm.accuracy_score(y, pred)),
    "precision": (
        metrics.precision,
        lambda y, pred, k: skm.precision_score(
            y, pred, average=_average(k), zero_division=0
        ),
    ),
    "recall": (
        metrics.recall,
        lambda y, pred, k: skm.recall_score(
            y, pred, average=_average(k), zero_division=0
        ),
    ),
    "f1_score": (
        metrics.f1_score,
        lambda y, pred, k: skm.f1_score(y, pred, average=_average(k), zero_division=0),
    ),
}


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    """Metrics must not warn (sklearn's zero-division warning included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("case", CLASSIFICATION)
@pytest.mark.parametrize("metric", SKLEARN)
def test_classification_matches_sklearn(metric, case, encoding, seed):
    y, y_pred, pred, k = CLASSIFICATION[case](np.random.default_rng(seed))
    ours, reference = SKLEARN[metric]
    value = ours(ENCODINGS[encoding](y, k), y_pred)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, reference(y, pred, k), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("case", CLASSIFICATION)
def test_confusion_matrix_matches_sklearn(case, encoding, seed):
    y, y_pred, pred, k = CLASSIFICATION[case](np.random.default_rng(seed))
    cm = metrics.confusion_matrix(ENCODINGS[encoding](y, k), y_pred)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, pred, labels=range(k)))


def test_confusion_matrix_keeps_absent_classes():
    cm = metrics.confusion_matrix([0, 2, 2], np.array([0, 2, 0]), num_classes=4)
    expected = np.zeros((4, 4), int)
    expected[0, 0], expected[2, 2], expected[2, 0] = 1, 1, 1
    np.testing.assert_array_equal(cm, expected)


def test_confusion_matrix_rejects_too_few_classes():
    with pytest.raises(ValueError, match="num_classes=2"):
        metrics.confusion_matrix([0, 1, 2], np.array([0, 1, 2]), num_classes=2)


def test_threshold_is_strict_and_adjustable():
    y = np.array([0, 1, 1])
    logits = np.array([-1.0, 0.0, 2.0])
    assert metrics.accuracy(y, np.array([0.2, 0.5, 0.9])) == pytest.approx(2 / 3)
    assert metrics.accuracy(y, logits, threshold=0.0) == pytest.approx(2 / 3)
    assert metrics.accuracy(y, logits, threshold=-0.5) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "metric", [metrics.precision, metrics.recall, metrics.f1_score]
)
def test_zero_division_gives_zero_without_warning(metric):
    y = np.array([0, 0, 1, 0])
    never_positive = np.zeros(4)
    assert metric(y, never_positive) == 0.0


# --- ROC ----------------------------------------------------------------------


def binary_scores(rng):
    y = rng.integers(0, 2, size=N)
    return y, rng.normal(size=N) + y


def tied_scores(rng):
    y = rng.integers(0, 2, size=N)
    return y, np.round(rng.uniform(size=N) + 0.3 * y, 1)


def constant_scores(rng):
    y = np.r_[0, 1, rng.integers(0, 2, size=N - 2)]
    return y, np.full(N, 0.25)


def separable_scores(rng):
    y = np.r_[0, 1, rng.integers(0, 2, size=N - 2)]
    return y, y + rng.uniform(0, 0.5, size=N)


ROC_CASES = {
    "continuous": binary_scores,
    "tied": tied_scores,
    "constant": constant_scores,
    "separable": separable_scores,
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", ROC_CASES)
def test_roc_curve_matches_sklearn(case, seed):
    y, score = ROC_CASES[case](np.random.default_rng(seed))
    fpr, tpr, thresholds = metrics.roc_curve(y, score)
    ref_fpr, ref_tpr, ref_thresholds = skm.roc_curve(y, score, drop_intermediate=False)
    assert thresholds[0] == np.inf
    np.testing.assert_array_equal(thresholds, ref_thresholds)
    np.testing.assert_allclose(fpr, ref_fpr, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(tpr, ref_tpr, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("case", ROC_CASES)
def test_binary_auc_matches_sklearn(case, encoding, seed):
    y, score = ROC_CASES[case](np.random.default_rng(seed))
    value = metrics.roc_auc(ENCODINGS[encoding](y, 2), score)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, skm.roc_auc_score(y, score), rtol=TOL, atol=TOL)


@pytest.mark.parametrize("shape", ["column", "two_columns"])
def test_binary_auc_accepts_column_and_two_column_scores(shape):
    y, score = binary_scores(np.random.default_rng(9))
    scores = score[:, None] if shape == "column" else np.c_[-score, score]
    assert metrics.roc_auc(y, scores) == pytest.approx(skm.roc_auc_score(y, score))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("tied", [False, True], ids=["continuous", "tied"])
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_multiclass_auc_matches_sklearn_ovr_macro(encoding, tied, seed):
    rng = np.random.default_rng(seed)
    y = np.r_[np.arange(K), rng.integers(0, K, size=N - K)]
    logits = rng.normal(size=(N, K)) + one_hot(y, K)
    if tied:
        logits = np.round(logits)
    score = softmax(logits)
    expected = skm.roc_auc_score(y, score, multi_class="ovr", average="macro")
    value = metrics.roc_auc(ENCODINGS[encoding](y, K), score)
    np.testing.assert_allclose(value, expected, rtol=TOL, atol=TOL)


def test_auc_of_a_perfect_and_a_reversed_ranking():
    y = np.array([0, 0, 1, 1])
    assert metrics.roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert metrics.roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0


@pytest.mark.parametrize(
    "y, score",
    [([1, 1, 1], [0.2, 0.4, 0.6]), ([0, 1, 2], [0.2, 0.4, 0.6])],
    ids=["one_class", "three_labels"],
)
def test_roc_rejects_non_binary_labels(y, score):
    with pytest.raises(ValueError):
        metrics.roc_curve(np.array(y), np.array(score))


# --- regression -----------------------------------------------------------------

REGRESSION = {
    "mse": (metrics.mse, skm.mean_squared_error, 1.0),
    "mae": (metrics.mae, skm.mean_absolute_error, 1.0),
    # sklearn gives a fraction (and floors |y| at machine eps); Keras a percentage.
    "mape": (metrics.mape, skm.mean_absolute_percentage_error, 100.0),
}
REGRESSION_SHAPES = {"vector": (N,), "column": (N, 1), "matrix": (N, 3)}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", REGRESSION_SHAPES)
@pytest.mark.parametrize("metric", REGRESSION)
def test_regression_matches_sklearn(metric, shape, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=REGRESSION_SHAPES[shape])
    y_pred = y + rng.normal(size=y.shape)
    ours, reference, scale = REGRESSION[metric]
    value = ours(y, y_pred)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, scale * reference(y, y_pred), rtol=TOL)


@pytest.mark.parametrize("metric", REGRESSION)
def test_regression_accepts_vector_against_column(metric):
    rng = np.random.default_rng(10)
    y, y_pred = rng.normal(size=N), rng.normal(size=N)
    ours = REGRESSION[metric][0]
    assert ours(y, y_pred[:, None]) == pytest.approx(ours(y, y_pred))
    assert ours(y[:, None], y_pred) == pytest.approx(ours(y, y_pred))


def test_regression_rejects_different_shapes():
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)"):
        metrics.mse(np.zeros((4, 2)), np.zeros((4, 3)))


# --- inputs -----------------------------------------------------------------------

ALL_METRICS = [
    metrics.accuracy,
    metrics.precision,
    metrics.recall,
    metrics.f1_score,
    metrics.confusion_matrix,
    metrics.roc_curve,
    metrics.roc_auc,
    metrics.mse,
    metrics.mae,
    metrics.mape,
]


@pytest.mark.parametrize("metric", ALL_METRICS, ids=lambda m: m.__name__)
def test_mismatched_lengths_name_both_lengths(metric):
    with pytest.raises(ValueError, match="y_true has 5 samples but y_pred has 4"):
        metric(np.array([0, 1, 0, 1, 1]), np.array([0.1, 0.9, 0.3, 0.6]))


def test_accepts_jax_arrays():
    y, p, pred, _ = multiclass_probs(np.random.default_rng(11))
    assert metrics.accuracy(jnp.asarray(y), jnp.asarray(p)) == pytest.approx(
        skm.accuracy_score(y, pred)
    )
    assert metrics.roc_auc(jnp.asarray(y), jnp.asarray(p)) == (
        pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr"), rel=1e-5)
    )


def test_rejects_fractional_labels():
    with pytest.raises(ValueError, match="non-negative integers"):
        metrics.accuracy(np.array([0.0, 0.5]), np.array([0.1, 0.9]))


def test_rejects_mismatched_one_hot_widths():
    with pytest.raises(ValueError, match="columns"):
        metrics.accuracy(one_hot(np.array([0, 1, 2]), 3), np.eye(4)[:3])


# --- registry ---------------------------------------------------------------------

NAMES = {
    "accuracy": (metrics.accuracy, "accuracy"),
    "acc": (metrics.accuracy, "accuracy"),
    "precision": (metrics.precision, "precision"),
    "recall": (metrics.recall, "recall"),
    "f1": (metrics.f1_score, "f1_score"),
    "f1_score": (metrics.f1_score, "f1_score"),
    "auc": (metrics.roc_auc, "auc"),
    "roc_auc": (metrics.roc_auc, "auc"),
    "mse": (metrics.mse, "mse"),
    "mean_squared_error": (metrics.mse, "mse"),
    "mae": (metrics.mae, "mae"),
    "mean_absolute_error": (metrics.mae, "mae"),
    "mape": (metrics.mape, "mape"),
    "mean_absolute_percentage_error": (metrics.mape, "mape"),
}


@pytest.mark.parametrize("name", NAMES)
def test_get_and_name_of(name):
    function, key = NAMES[name]
    assert metrics.get(name) is function
    assert metrics.get(name.upper()) is function
    assert metrics.name_of(name) == key
    assert metrics.name_of(function) == key


def test_names_lists_every_registered_name():
    assert metrics.names() == sorted(NAMES)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown metric 'foo'; valid names: ") as info:
        metrics.get("foo")
    for name in NAMES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.name_of("foo")


def test_custom_callable_passes_through_with_its_name():
    def top_error(y_true, y_pred):
        return float(np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred))))

    assert metrics.get(top_error) is top_error
    assert metrics.name_of(top_error) == "top_error"
