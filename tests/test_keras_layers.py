"""approx.keras layers: each forward pass against NumPy, dropout, batch normalisation, initializers."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from approx import keras
from approx.keras import initializers, layers


def _np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS_NP = {
    "linear": lambda z: z,
    "sigmoid": _np_sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "swish": lambda z: z * _np_sigmoid(z),
    "gelu": lambda z: 0.5 * z * (1 + special.erf(z / np.sqrt(2))),  # exact, Keras's default
    "leaky_relu": lambda z: np.where(z >= 0, z, 0.2 * z),
    "hard_sigmoid": lambda z: np.clip(z + 3, 0, 6) / 6,
    "selu": lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z)),
    "softmax": lambda z: np.exp(z - z.max(-1, keepdims=True)) / np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS_NP))
def test_dense_forward_matches_numpy(name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 12)).astype(np.float32)
    layer = layers.Dense(5, activation=name)
    layer(x)  # builds
    kernel, bias = rng.normal(size=(12, 5)), rng.normal(size=5)
    layer.set_weights([kernel, bias])
    expected = ACTIVATIONS_NP[name](x.astype(np.float64) @ kernel + bias)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=2e-5, atol=2e-6)


def test_dense_small_fan_in_and_no_bias_and_nd_inputs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3, 2)).astype(np.float32)  # Dense acts on the last axis
    layer = layers.Dense(6, use_bias=False)
    y = np.asarray(layer(x))
    assert [v.name for v in layer.weights] == ["kernel"] and y.shape == (4, 3, 6)
    np.testing.assert_allclose(y, x @ layer.get_weights()[0], rtol=1e-5, atol=1e-6)


def test_flatten_reshape_rescaling_activation_softmax_relu():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(layers.Flatten()(x)), x.reshape(3, 20))
    np.testing.assert_array_equal(np.asarray(layers.Reshape((5, -1))(x)), x.reshape(3, 5, 4))
    np.testing.assert_allclose(np.asarray(layers.Rescaling(1 / 255, offset=-0.5)(x)), x / 255 - 0.5, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layers.Activation("tanh")(x)), np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layers.Softmax()(x)), ACTIVATIONS_NP["softmax"](x.astype(np.float64)), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(layers.ReLU(max_value=0.5)(x)), np.clip(x, 0, 0.5))
    np.testing.assert_allclose(np.asarray(layers.LeakyReLU()(x)), np.where(x >= 0, x, 0.3 * x), rtol=1e-6)


def test_dropout_is_inverted_in_training_and_absent_at_inference():
    x = np.ones((400, 250), np.float32)
    drop = layers.Dropout(0.3)
    np.testing.assert_array_equal(np.asarray(drop(x)), x)  # inference: the identity
    y = np.asarray(drop(x, training=True))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)  # survivors scaled by 1 / (1 - rate)
    # 100000 Bernoulli(0.7) draws: the kept fraction within 5 standard deviations.
    assert abs(kept.mean() - 0.7) < 5 * math.sqrt(0.7 * 0.3 / kept.size)
    assert abs(y.mean() - 1.0) < 0.02  # the expectation is preserved
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.0)


def test_batch_normalization_training_and_inference_against_numpy():
    rng = np.random.default_rng(3)
    x = rng.normal(2.0, 3.0, size=(64, 4)).astype(np.float32)
    bn = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    bn(x)  # builds: gamma, beta, moving_mean, moving_variance
    assert [v.name for v in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [v.trainable for v in bn.weights] == [True, True, False, False]
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    bn.set_weights([gamma, beta, np.zeros(4), np.ones(4)])
    op = bn.op()
    weights = tuple(v.value for v in bn.weights)
    y, new = op(weights, jnp.asarray(x), True, None, jnp.ones(64))
    mean, var = x.mean(0), x.var(0)  # biased variance, as Keras
    np.testing.assert_allclose(np.asarray(y), gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(new[2]), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(new[3]), 0.9 + 0.1 * var, rtol=1e-5)
    # A padded batch (weights 0 on the padding) has the statistics of its real rows.
    padded = np.concatenate([x, 100 * np.ones((16, 4), np.float32)])
    mask = np.r_[np.ones(64), np.zeros(16)].astype(np.float32)
    y2, new2 = op(weights, jnp.asarray(padded), True, None, jnp.asarray(mask))
    np.testing.assert_allclose(np.asarray(y2)[:64], np.asarray(y), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(new2[2]), np.asarray(new[2]), rtol=1e-5)
    # Inference uses the moving statistics.
    y3 = np.asarray(bn(x))
    np.testing.assert_allclose(y3, gamma * x / np.sqrt(1 + 1e-3) + beta, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "name, fan, expected_std",
    [
        ("glorot_uniform", (300, 200), math.sqrt(2 / 500)),
        ("glorot_normal", (300, 200), math.sqrt(2 / 500)),
        ("he_normal", (300, 200), math.sqrt(2 / 300)),
        ("he_uniform", (300, 200), math.sqrt(2 / 300)),
        ("lecun_normal", (300, 200), math.sqrt(1 / 300)),
        ("lecun_uniform", (300, 200), math.sqrt(1 / 300)),
        ("random_normal", (300, 200), 0.05),
        ("random_uniform", (300, 200), 0.1 / math.sqrt(12) * 1.0),
    ],
)
def test_initializers_have_keras_variances(name, fan, expected_std):
    w = np.asarray(initializers.get(name)(jax.random.key(0), fan, jnp.float32))
    assert w.shape == fan
    # 60000 draws: the sample standard deviation within 2 %.
    assert abs(w.std() / expected_std - 1) < 0.02
    assert abs(w.mean()) < 5 * expected_std / math.sqrt(w.size)
    if "uniform" in name:
        assert np.abs(w).max() <= expected_std * math.sqrt(3) * 1.0001


def test_seeded_initializer_repeats_and_zeros_ones_constant():
    init = initializers.GlorotUniform(seed=7)
    a = init(jax.random.key(1), (3, 4))
    b = init(jax.random.key(2), (3, 4))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert initializers.GlorotUniform(seed=7) == init  # hashable by value: shares compiled programs
    np.testing.assert_array_equal(np.asarray(initializers.get("ones")(None, (2,))), [1, 1])
    np.testing.assert_array_equal(np.asarray(initializers.Constant(3.0)(None, (2,))), [3, 3])


def test_outside_the_subset_fails_clearly():
    with pytest.raises(AttributeError, match="Conv2D is not part of approx.keras.*supported layers: .*Dense"):
        layers.Conv2D  # noqa: B018
    with pytest.raises(keras.NotInSubsetError, match="functional API"):
        layers.Dense(3)(keras.Input(shape=(4,)))
    with pytest.raises(keras.NotInSubsetError, match="Sequential"):
        keras.Model(inputs=None, outputs=None)
    with pytest.raises(ValueError, match="unknown activation 'sigmoidd'.*valid activations"):
        layers.Dense(3, activation="sigmoidd")
    with pytest.raises(ValueError, match="unknown initializer 'glorot'.*glorot_uniform"):
        layers.Dense(3, kernel_initializer="glorot")
    with pytest.raises(TypeError, match="unexpected keyword.*kernel_size"):
        layers.Dense(3, kernel_size=3)
    assert not hasattr(keras.layers, "LSTM")
