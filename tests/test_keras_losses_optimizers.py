"""approx.keras losses against NumPy formulas; optimizers against Keras's update rules in NumPy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from approx.keras import losses, optimizers

EPS = 1e-7


def _data(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.uniform(0.05, 2.0, size=(50, 3))
    p = rng.uniform(0.05, 2.0, size=(50, 3))
    return y.astype(np.float32), p.astype(np.float32)


REGRESSION = {
    "mean_squared_error": lambda y, p: ((y - p) ** 2).mean(-1),
    "mean_absolute_error": lambda y, p: np.abs(y - p).mean(-1),
    "mean_absolute_percentage_error": lambda y, p: 100 * (np.abs(y - p) / np.maximum(np.abs(y), EPS)).mean(-1),
    "mean_squared_logarithmic_error": lambda y, p: ((np.log1p(p) - np.log1p(y)) ** 2).mean(-1),
    "poisson": lambda y, p: (p - y * np.log(p + EPS)).mean(-1),
    "huber": lambda y, p: np.where(np.abs(p - y) <= 1, 0.5 * (p - y) ** 2, np.abs(p - y) - 0.5).mean(-1),
    "log_cosh": lambda y, p: np.log(np.cosh(p - y)).mean(-1),
}


@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_losses_match_numpy(name):
    y, p = _data()
    got = np.asarray(getattr(losses, name)(y, p))
    np.testing.assert_allclose(got, REGRESSION[name](y.astype(np.float64), p.astype(np.float64)), rtol=2e-5, atol=1e-6)
    cls = type(losses.get(name))
    assert float(cls()(y, p)) == pytest.approx(got.mean(), rel=1e-5)  # sum_over_batch_size


def test_crossentropies_match_numpy_and_logits_agree():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(40, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 40)
    onehot = np.eye(5, dtype=np.float32)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = -np.log(probs[np.arange(40), labels])
    np.testing.assert_allclose(np.asarray(losses.categorical_crossentropy(onehot, probs)), expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(losses.categorical_crossentropy(onehot, logits, from_logits=True)), expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(losses.sparse_categorical_crossentropy(labels, probs)), expected, rtol=1e-5)
    np.testing.assert_allclose(
        np.asarray(losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)), expected.mean(), rtol=1e-5
    )
    y = (rng.uniform(size=(40, 1)) < 0.5).astype(np.float32)
    z = rng.normal(size=(40, 1)).astype(np.float32)
    p = 1 / (1 + np.exp(-z))
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))[:, 0]
    np.testing.assert_allclose(np.asarray(losses.binary_crossentropy(y, p)), bce, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(losses.binary_crossentropy(y, z, from_logits=True)), bce, rtol=1e-5)
    # Keras's clip: a certain wrong answer costs -log(1e-7), not infinity.
    assert float(losses.binary_crossentropy(np.ones((1, 1)), np.zeros((1, 1)))[0]) == pytest.approx(-np.log(EPS), rel=1e-3)
    smoothed = losses.CategoricalCrossentropy(label_smoothing=0.1)(onehot, probs)
    target = onehot * 0.9 + 0.1 / 5
    assert float(smoothed) == pytest.approx(-(target * np.log(probs)).sum(1).mean(), rel=1e-5)


def test_shapes_follow_keras_and_never_broadcast_silently():
    y = np.arange(6, dtype=np.float32)
    p = y[:, None] + 1.0
    assert losses.mean_squared_error(y, p).shape == (6,)  # (n,) against (n, 1): expanded, as Keras
    with pytest.raises(ValueError, match=r"shape \(6, 1\).*\(6, 2\)"):
        losses.mean_squared_error(y[:, None], np.ones((6, 2), np.float32))
    with pytest.raises(ValueError, match="integer labels.*sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(y, np.ones((6, 3), np.float32))


def test_reductions_and_names():
    y, p = _data()
    per = np.asarray(losses.mean_squared_error(y, p))
    assert float(losses.MeanSquaredError(reduction="sum")(y, p)) == pytest.approx(per.sum(), rel=1e-5)
    np.testing.assert_allclose(np.asarray(losses.MeanSquaredError(reduction="none")(y, p)), per, rtol=1e-6)
    assert losses.MeanSquaredError().name == "mean_squared_error" and losses.get("mse").name == "mse"
    assert losses.get("mse") == losses.MeanSquaredError()  # one compiled program for both
    with pytest.raises(ValueError, match="unknown loss 'msee'; valid losses:.*mean_squared_error"):
        losses.get("msee")


# -- optimizers: Keras's update rules, written in NumPy from keras/src/optimizers ------------------
def _quadratic_grads(w):
    return 2 * (w - 3.0) + 0.5 * np.sin(w)


def _run(opt, w0, steps):
    tx = opt.transform
    params = {"w": jnp.asarray(w0, jnp.float32)}
    state = optimizers.initial_state(opt, params)
    for _ in range(steps):
        g = {"w": jnp.asarray(_quadratic_grads(np.asarray(params["w"], np.float64)), jnp.float32)}
        updates, state = tx.update(g, state, params)
        params = jax.tree.map(lambda a, u: a + u, params, updates)
    return np.asarray(params["w"], np.float64)


def _keras_reference(name, w, steps, lr):
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    acc = np.full_like(w, 0.1)
    for t in range(1, steps + 1):
        g = _quadratic_grads(w)
        if name == "sgd":
            w = w - lr * g
        elif name == "momentum":
            m = 0.9 * m - lr * g
            w = w + m
        elif name == "nesterov":
            m = 0.9 * m - lr * g
            w = w + 0.9 * m - lr * g
        elif name in ("adam", "adamw"):
            if name == "adamw":
                w = w - w * 0.004 * lr
            m = m + (g - m) * 0.1
            v = v + (g * g - v) * 0.001
            # Optax's epsilon placement (after bias correction); see approx.keras.optimizers.
            w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-7)
        elif name == "rmsprop":
            v = 0.9 * v + 0.1 * g * g
            w = w - lr * g / np.sqrt(v + 1e-7)
        elif name == "adagrad":
            acc = acc + g * g
            w = w - lr * g / np.sqrt(acc + 1e-7)
    return w


@pytest.mark.parametrize(
    "name, make",
    [
        ("sgd", lambda: optimizers.SGD(0.05)),
        ("momentum", lambda: optimizers.SGD(0.05, momentum=0.9)),
        ("nesterov", lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
        ("adam", lambda: optimizers.Adam(0.05)),
        ("adamw", lambda: optimizers.AdamW(0.05)),
        ("rmsprop", lambda: optimizers.RMSprop(0.05)),
        ("adagrad", lambda: optimizers.Adagrad(0.05)),
    ],
)
def test_optimizers_follow_keras_update_rules(name, make):
    w0 = np.array([-2.0, 0.5, 4.0, 10.0])
    got = _run(make(), w0, 25)
    np.testing.assert_allclose(got, _keras_reference(name, w0.copy(), 25, 0.05), rtol=2e-5, atol=2e-5)


def test_defaults_names_and_bad_input():
    assert optimizers.get("adam").learning_rate == 1e-3 and optimizers.get("sgd").learning_rate == 1e-2
    assert optimizers.get("rmsprop").options["rho"] == 0.9 and optimizers.AdamW().weight_decay == 0.004
    assert optimizers.Adam(2e-3).transform is optimizers.Adam(5e-4).transform  # the rate lives in the state
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'; valid optimizers: adagrad, adam"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="learning_rate must be a number >= 0"):
        optimizers.Adam(-1.0)
    with pytest.raises(TypeError, match="unexpected argument.*betas"):
        optimizers.Adam(betas=(0.9, 0.99))
    with pytest.raises(AttributeError, match="supported optimizers"):
        optimizers.Lion  # noqa: B018


def test_schedules_and_clipping():
    s = optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert float(s(20)) == pytest.approx(0.025)
    c = optimizers.schedules.CosineDecay(0.1, decay_steps=100, alpha=0.1)
    assert float(c(50)) == pytest.approx(0.1 * (0.9 * 0.5 + 0.1))
    p = optimizers.schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [float(p(t)) for t in (5, 10, 15, 25)] == [1.0, 1.0, 0.5, pytest.approx(0.1)]
    opt = optimizers.SGD(1.0, clipnorm=1.0)
    state = optimizers.initial_state(opt, {"w": jnp.zeros(2)})
    updates, _ = opt.transform.update({"w": jnp.asarray([3.0, 4.0])}, state, {"w": jnp.zeros(2)})
    np.testing.assert_allclose(np.asarray(updates["w"]), [-0.6, -0.8], rtol=1e-6)
