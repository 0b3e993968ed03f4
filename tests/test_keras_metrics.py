"""approx.keras metrics: Keras's name resolution, exact values against scikit-learn."""

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from approx.keras import metrics

# Keras 3's resolution of compile(metrics=[...]) (keras/src/trainers/compile_utils.py
# get_metric and keras/src/metrics/__init__.py's names), written out by hand:
# identifier, y_true shape, y_pred shape -> class, history key.
RESOLUTION = [
    ("accuracy", (None, 1), (None, 1), "BinaryAccuracy", "accuracy"),
    ("accuracy", (None,), (None, 1), "BinaryAccuracy", "accuracy"),
    ("acc", (None, 10), (None, 10), "CategoricalAccuracy", "acc"),
    ("accuracy", (None,), (None, 10), "SparseCategoricalAccuracy", "accuracy"),
    ("accuracy", (None, 1), (None, 10), "SparseCategoricalAccuracy", "accuracy"),
    ("binary_accuracy", (None, 1), (None, 1), "BinaryAccuracy", "binary_accuracy"),
    ("categorical_accuracy", (None, 10), (None, 10), "CategoricalAccuracy", "categorical_accuracy"),
    ("sparse_categorical_accuracy", (None,), (None, 10), "SparseCategoricalAccuracy", "sparse_categorical_accuracy"),
    ("top_k_categorical_accuracy", (None, 10), (None, 10), "TopKCategoricalAccuracy", "top_k_categorical_accuracy"),
    ("sparse_top_k_categorical_accuracy", (None,), (None, 10), "SparseTopKCategoricalAccuracy",
     "sparse_top_k_categorical_accuracy"),
    ("precision", (None, 1), (None, 1), "Precision", "precision"),
    ("recall", (None, 1), (None, 1), "Recall", "recall"),
    ("auc", (None, 1), (None, 1), "AUC", "auc"),
    ("AUC", (None, 1), (None, 1), "AUC", "AUC"),
    ("f1_score", (None, 3), (None, 3), "F1Score", "f1_score"),
    ("mse", (None, 1), (None, 1), "MeanSquaredError", "mse"),
    ("MSE", (None, 1), (None, 1), "MeanSquaredError", "MSE"),
    ("mean_squared_error", (None, 1), (None, 1), "MeanSquaredError", "mean_squared_error"),
    ("mae", (None, 1), (None, 1), "MeanAbsoluteError", "mae"),
    ("mape", (None, 1), (None, 1), "MeanAbsolutePercentageError", "mape"),
    ("root_mean_squared_error", (None, 1), (None, 1), "RootMeanSquaredError", "root_mean_squared_error"),
    ("r2_score", (None, 1), (None, 1), "R2Score", "r2_score"),
    ("binary_crossentropy", (None, 1), (None, 1), "BinaryCrossentropy", "binary_crossentropy"),
    ("BinaryAccuracy", (None, 1), (None, 1), "BinaryAccuracy", "BinaryAccuracy"),
]  # fmt: skip


@pytest.mark.parametrize("identifier, t_shape, p_shape, cls, key", RESOLUTION)
def test_metric_names_resolve_as_keras(identifier, t_shape, p_shape, cls, key):
    metric = metrics.resolve(identifier, t_shape, p_shape)
    assert type(metric).__name__ == cls and metric.name == key


def test_objects_keep_keras_default_names_and_given_names():
    from approx.keras import backend

    backend.clear_session()
    assert metrics.Precision().name == "precision" and metrics.AUC().name == "auc"
    assert metrics.Precision().name == "precision_1"  # unnamed objects are numbered, as Keras numbers them
    assert metrics.BinaryAccuracy().name == "binary_accuracy" and metrics.F1Score().name == "f1_score"
    assert metrics.MeanSquaredError().name == "mean_squared_error" and metrics.AUC(name="roc").name == "roc"
    assert metrics.resolve(metrics.Recall(name="r"), (None, 1), (None, 1)).name == "r"

    def my_metric(y_true, y_pred):
        return np.abs(y_true - y_pred).max(axis=-1)

    assert metrics.resolve(my_metric, (None, 1), (None, 1)).name == "my_metric"


def _binary(n=500, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.4).astype(np.float32)
    p = np.clip(0.35 * y + rng.uniform(size=n) * 0.7, 0, 1).astype(np.float32)
    p[:20] = 0.5  # ties and the threshold itself
    return y[:, None], p[:, None]


def test_binary_metrics_against_sklearn():
    y, p = _binary()
    labels, decided = y[:, 0], (p[:, 0] > 0.5)
    assert metrics.BinaryAccuracy().compute(y, p) == pytest.approx(skm.accuracy_score(labels, decided))
    assert metrics.Precision().compute(y, p) == pytest.approx(skm.precision_score(labels, decided))
    assert metrics.Recall().compute(y, p) == pytest.approx(skm.recall_score(labels, decided))
    assert metrics.AUC().compute(y, p) == pytest.approx(skm.roc_auc_score(labels, p[:, 0]), abs=1e-12)
    assert metrics.AUC(curve="PR").compute(y, p) == pytest.approx(skm.average_precision_score(labels, p[:, 0]), abs=1e-12)
    assert metrics.F1Score(average="micro", threshold=0.5).compute(y, p) == pytest.approx(skm.f1_score(labels, decided))
    tn, fp, fn, tp = skm.confusion_matrix(labels, decided).ravel()
    assert (metrics.TruePositives().compute(y, p), metrics.FalsePositives().compute(y, p)) == (tp, fp)
    assert (metrics.FalseNegatives().compute(y, p), metrics.TrueNegatives().compute(y, p)) == (fn, tn)
    # Several thresholds give one value each.
    got = metrics.Precision(thresholds=[0.3, 0.7]).compute(y, p)
    expected = [skm.precision_score(labels, p[:, 0] > t) for t in (0.3, 0.7)]
    np.testing.assert_allclose(got, expected)


def test_multiclass_metrics_against_sklearn():
    rng = np.random.default_rng(1)
    n, k = 600, 4
    labels = rng.integers(0, k, n)
    scores = rng.dirichlet(np.ones(k), n) + 0.6 * np.eye(k)[labels]
    scores /= scores.sum(1, keepdims=True)
    onehot = np.eye(k, dtype=np.float32)[labels]
    predicted = scores.argmax(1)
    assert metrics.CategoricalAccuracy().compute(onehot, scores) == pytest.approx(skm.accuracy_score(labels, predicted))
    assert metrics.SparseCategoricalAccuracy().compute(labels, scores) == pytest.approx(skm.accuracy_score(labels, predicted))
    assert metrics.TopKCategoricalAccuracy(k=2).compute(onehot, scores) == pytest.approx(
        skm.top_k_accuracy_score(labels, scores, k=2)
    )
    for average in ("macro", "micro", "weighted"):
        got = metrics.F1Score(average=average).compute(onehot, scores)
        assert got == pytest.approx(skm.f1_score(labels, predicted, average=average)), average
    per_class = metrics.F1Score().compute(onehot, scores)  # Keras's default: one value per class
    np.testing.assert_allclose(per_class, skm.f1_score(labels, predicted, average=None))
    f2 = metrics.FBetaScore(average="macro", beta=2.0).compute(onehot, scores)
    assert f2 == pytest.approx(skm.fbeta_score(labels, predicted, beta=2.0, average="macro"))
    # Keras's default AUC treats every output as one decision (micro); multi_label averages per class.
    assert metrics.AUC().compute(onehot, scores) == pytest.approx(skm.roc_auc_score(onehot.ravel(), scores.ravel()))
    assert metrics.AUC(multi_label=True).compute(onehot, scores) == pytest.approx(
        skm.roc_auc_score(onehot, scores, average="macro")
    )
    # Precision on one-hot rows: every output a binary decision at 0.5 (Keras).
    assert metrics.Precision().compute(onehot, scores) == pytest.approx(
        skm.precision_score(onehot.ravel(), scores.ravel() > 0.5)
    )
    assert metrics.Recall(class_id=2).compute(onehot, scores) == pytest.approx(
        skm.recall_score(labels == 2, scores[:, 2] > 0.5)
    )


def test_regression_metrics_against_sklearn():
    rng = np.random.default_rng(2)
    y = rng.normal(size=(300, 1)).astype(np.float32) + 3
    p = y + rng.normal(scale=0.3, size=y.shape).astype(np.float32)
    assert metrics.MeanSquaredError().compute(y, p) == pytest.approx(skm.mean_squared_error(y, p), rel=1e-6)
    assert metrics.MeanAbsoluteError().compute(y, p) == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-6)
    assert metrics.MeanAbsolutePercentageError().compute(y, p) == pytest.approx(
        100 * skm.mean_absolute_percentage_error(y, p), rel=1e-5
    )
    assert metrics.RootMeanSquaredError().compute(y, p) == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)), rel=1e-6)
    assert metrics.R2Score().compute(y, p) == pytest.approx(skm.r2_score(y, p), rel=1e-6)
    # (n,) targets against (n, 1) predictions: no silent (n, n) broadcast.
    assert metrics.MeanSquaredError().compute(y[:, 0], p) == pytest.approx(skm.mean_squared_error(y, p), rel=1e-6)


def test_stateful_use_accumulates_like_keras():
    y, p = _binary()
    m = metrics.AUC()
    m.update_state(y[:250], p[:250])
    m.update_state(y[250:], p[250:])
    assert float(m.result()) == pytest.approx(skm.roc_auc_score(y[:, 0], p[:, 0]))
    m.reset_state()
    assert float(m(y[:100], p[:100])) == pytest.approx(skm.roc_auc_score(y[:100, 0], p[:100, 0]))


def test_undefined_metric_warns_once_and_is_nan():
    auc = metrics.AUC(name="auc")
    y = np.zeros((10, 1), np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.isnan(auc.compute(y, np.linspace(0, 1, 10)[:, None]))
        assert np.isnan(auc.compute(y, np.linspace(0, 1, 10)[:, None]))
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "'auc'" in messages[0] and "one class" in messages[0]


def test_unknown_metric_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown metric 'acuracy'; valid metrics: .*categorical_accuracy"):
        metrics.get("acuracy")
    with pytest.raises(AttributeError, match="supported metrics"):
        metrics.MeanIoU  # noqa: B018
