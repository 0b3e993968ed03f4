import jax
import jax.numpy as jnp
import numpy as np
import pytest

from approx.targets import TARGET_NAMES, as_target, grid, make_target, resolve_target, sample_uniform


@pytest.mark.parametrize("name", TARGET_NAMES)
@pytest.mark.parametrize("dim", [1, 2, 5])
def test_shapes_and_finite(name, dim):
    t = make_target(name, dim)
    x = sample_uniform(jax.random.key(0), 257, dim)
    y = t(x)
    assert y.shape == (257,)
    assert bool(jnp.all(jnp.isfinite(y)))
    assert t.dim == dim and t.description


@pytest.mark.parametrize(
    "name, x, expected",
    [
        ("sine", 0.0, 0.0),
        ("sine", 0.25, 0.5),  # sin(pi/2) + 0.5 sin(3 pi/2)
        ("nielsen", 0.0, 0.25),  # 0.2 + 0.05 cos(0)
        ("nielsen", 1.0, 0.2 + 0.4 + 0.3 * np.sin(15) + 0.05 * np.cos(50)),
        ("kink", 0.5, 0.0),
        ("kink", 0.0, 0.5),
        ("step", 0.49, 0.0),
        ("step", 0.5, 1.0),
        ("bump", 0.5, 1.0),
        ("sawtooth", 1 / 16, 0.5),  # T(1/16)=1/8, T(1/8)=1/4, T(1/4)=1/2
        ("sawtooth", 1 / 8, 1.0),
        ("sawtooth", 0.0, 0.0),
    ],
)
def test_known_values(name, x, expected):
    y = make_target(name, 1)(jnp.array([[x]]))
    np.testing.assert_allclose(float(y[0]), expected, atol=1e-6)


def test_ranges():
    x = grid(1001, 1)
    assert float(make_target("step")(x).min()) == 0.0 and float(make_target("step")(x).max()) == 1.0
    kink = make_target("kink")(x)
    assert 0.0 <= float(kink.min()) and float(kink.max()) <= 0.5 + 1e-6
    saw = make_target("sawtooth")(x)
    assert 0.0 <= float(saw.min()) and float(saw.max()) <= 1.0


def test_sine_is_scaled_sum_in_d_dimensions():
    t = make_target("sine", 4)
    x = sample_uniform(jax.random.key(3), 64, 4)
    one = make_target("sine", 1)
    expected = sum(one(x[:, i : i + 1]) for i in range(4)) / 2.0
    np.testing.assert_allclose(t(x), expected, rtol=1e-5, atol=1e-6)


def test_ridge_states_its_barron_constant():
    t = make_target("ridge", 3)
    assert t.constants["barron_constant"] > 0
    # The stated constant bounds the function's range: |f| <= sum |c_k| <= C / min ||w||_1 ... at least finite.
    assert np.isfinite(t.constants["barron_bound_factor"])


def test_teacher_is_a_sigmoid_network_of_known_width():
    t = make_target("teacher", 2)
    assert t.constants["teacher_width"] == 4
    x = sample_uniform(jax.random.key(1), 100, 2)
    assert float(jnp.std(t(x))) > 0.05  # not a constant


def test_deterministic_definition():
    x = sample_uniform(jax.random.key(5), 10, 3)
    np.testing.assert_array_equal(make_target("ridge", 3)(x), make_target("ridge", 3)(x))


def test_user_callable_and_module_function():
    t = as_target(lambda x: jnp.sum(x**2, axis=1), dim=2, name="sq")
    np.testing.assert_allclose(t(jnp.array([[1.0, 2.0]])), [5.0])
    t2 = resolve_target("math_targets:parabola", 1)
    np.testing.assert_allclose(t2(jnp.array([[0.5]])), [0.25])


def test_bad_names_and_shapes():
    with pytest.raises(ValueError, match="valid targets: sine"):
        make_target("nope")
    with pytest.raises(ValueError, match="dim must be"):
        make_target("sine", 0)
    with pytest.raises(ValueError, match="shape"):
        make_target("sine", 2)(jnp.zeros((3, 1)))
    with pytest.raises(ValueError, match="cannot load target"):
        resolve_target("no_such_module:f")


def test_grid_and_sampler():
    g = grid(5, 2)
    assert g.shape == (25, 2) and float(g.min()) == 0.0 and float(g.max()) == 1.0
    m = grid(4, 1, midpoints=True)
    np.testing.assert_allclose(m[:, 0], [0.125, 0.375, 0.625, 0.875])
    s = sample_uniform(jax.random.key(0), 1000, 3)
    assert s.shape == (1000, 3) and 0 <= float(s.min()) and float(s.max()) < 1
