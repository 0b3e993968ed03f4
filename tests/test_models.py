import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from approx.models import ACTIVATIONS, MLP, count_params, cosine_squasher, get_activation, sigmoid


@pytest.mark.parametrize(
    "d, hidden",
    [(1, [16]), (2, [4, 5]), *(pytest.param(d, h, marks=pytest.mark.slow) for d, h in [(1, [1]), (3, [8]), (784, [32, 16])])],
)
def test_parameter_count_matches_layers(d, hidden):
    model = MLP(d, hidden, key=jax.random.key(0))
    _, state = nnx.split(model)
    n = sum(x.size for x in jax.tree.leaves(state))
    assert n == count_params(d, hidden, 1)


@pytest.mark.parametrize("d, n", [(1, 1), (1, 7), (4, 10)])
def test_one_hidden_layer_count_is_cybenkos(d, n):
    assert count_params(d, [n], 1) == (d + 1) * n + n + 1


def test_forward_is_cybenkos_sum():
    """G(x) = sum_j a_j sigma(w_j . x + b_j) + c, worked by hand in NumPy."""
    model = MLP(2, [3], key=jax.random.key(1))
    x = np.array([[0.1, 0.7], [0.5, 0.5]], np.float32)
    W = np.asarray(model.layers[0].kernel[...])
    b = np.asarray(model.layers[0].bias[...])
    a = np.asarray(model.layers[1].kernel[...])[:, 0]
    c = float(model.layers[1].bias[...][0])
    expected = (1 / (1 + np.exp(-(x @ W + b)))) @ a + c
    np.testing.assert_allclose(np.asarray(model(jnp.asarray(x)))[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_sigmoid_forms_agree():
    z = jnp.linspace(-40, 40, 1001)
    np.testing.assert_allclose(sigmoid(z), jax.nn.sigmoid(z), atol=1e-6)


def test_cosine_squasher_is_a_squasher():
    z = jnp.array([-10.0, -jnp.pi / 2, 0.0, jnp.pi / 2, 10.0])
    np.testing.assert_allclose(cosine_squasher(z), [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_runs(name):
    model = MLP(2, [4], activation=name, key=jax.random.key(0))
    assert model(jnp.ones((3, 2))).shape == (3, 1)


def test_callable_activation_and_unknown_name():
    model = MLP(1, [4], activation=lambda z: jnp.clip(z, 0, 1), key=jax.random.key(0))
    assert model(jnp.ones((2, 1))).shape == (2, 1)
    with pytest.raises(ValueError, match="valid activations: sigmoid"):
        get_activation("swishy")
    with pytest.raises(ValueError, match="init"):
        MLP(1, [4], init="xavier", key=jax.random.key(0))


def test_spread_init_places_transitions_inside_the_cube():
    n = 256
    model = MLP(1, [n], key=jax.random.key(0))
    w = np.asarray(model.layers[0].kernel[...])[0]
    b = np.asarray(model.layers[0].bias[...])
    centres = -b / w
    assert centres.min() >= 0 and centres.max() <= 1
    # Slopes grow with the width (n^(1/d)), so transitions resolve ~1/n.
    assert np.median(np.abs(w)) > 0.5 * n


@pytest.mark.slow  # the same property through training: tests/test_train_reference.py (padded readout) and test_sweep
def test_padded_units_are_identical_and_masked_units_silent():
    small = MLP(2, [5], key=jax.random.key(3), active_widths=[5])
    big = MLP(2, [12], key=jax.random.key(3), active_widths=[5])
    np.testing.assert_array_equal(big.layers[0].kernel[...][:, :5], small.layers[0].kernel[...])
    np.testing.assert_array_equal(big.layers[1].kernel[...][:5], small.layers[1].kernel[...])
    mask = (jnp.arange(12) < 5).astype(jnp.float32)
    x = jax.random.uniform(jax.random.key(0), (7, 2))
    graphdef, state = nnx.split(big)

    def loss(s):
        return jnp.sum(nnx.merge(graphdef, s)(x, (mask,)) ** 2)

    grads = jax.grad(loss)(state)
    assert float(jnp.abs(grads["layers"][0]["kernel"][...][:, 5:]).max()) == 0.0
    assert float(jnp.abs(grads["layers"][1]["kernel"][...][5:]).max()) == 0.0


def test_zero_readout_leaves_the_hidden_layers_alone():
    key = jax.random.key(3)
    drawn = MLP(2, [16, 8], key=key)
    zeroed = MLP(2, [16, 8], key=key, readout="zeros")
    for a, b in zip(drawn.layers[:-1], zeroed.layers[:-1]):
        np.testing.assert_array_equal(a.kernel[...], b.kernel[...])
        np.testing.assert_array_equal(a.bias[...], b.bias[...])
    assert not np.any(zeroed.layers[-1].kernel[...]) and not np.any(zeroed.layers[-1].bias[...])
    assert np.any(drawn.layers[-1].kernel[...])
    with pytest.raises(ValueError, match="readout"):
        MLP(2, [4], key=key, readout="ones")
