import os
import subprocess
import sys
import textwrap
import warnings
import zlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from approx.cli.app import main
from approx.config import TARGET_CHOICES, ConfigError, SweepConfig
from approx.measure import make_measure_fn
from approx.models import MLP
from approx.experiments.sweep import run_sweep
from approx.targets import (
    TARGET_NAMES,
    TARGET_RULE,
    TargetError,
    as_target,
    grid,
    make_target,
    probe_points,
    resolve_target,
    sample_uniform,
)


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


def test_config_knows_every_target_name():
    assert TARGET_CHOICES == TARGET_NAMES  # config checks names without importing JAX


def test_grid_and_sampler():
    g = grid(5, 2)
    assert g.shape == (25, 2) and float(g.min()) == 0.0 and float(g.max()) == 1.0
    m = grid(4, 1, midpoints=True)
    np.testing.assert_allclose(m[:, 0], [0.125, 0.375, 0.625, 0.875])
    s = sample_uniform(jax.random.key(0), 1000, 3)
    assert s.shape == (1000, 3) and 0 <= float(s.min()) and float(s.max()) < 1


# -- user targets: module:function, checked on a few points, NumPy on the host ----------------
def _write_module(folder, name, body):
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_module_function_is_found_in_the_current_folder(tmp_path, monkeypatch):
    # The installed `approx` script does not put the current folder on sys.path
    # (`python -m approx` does): resolve_target adds it for the import only.
    _write_module(tmp_path, "cwd_target_mod", "import jax.numpy as jnp\ndef f(x):\n    return jnp.sum(x, axis=1)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    before = list(sys.path)
    t = resolve_target("cwd_target_mod:f", 2)
    np.testing.assert_allclose(t(jnp.array([[0.25, 0.5]])), [0.75])
    assert sys.path == before  # the folder was on the path for the import only


def test_dotted_attribute_and_bad_specs():
    t = resolve_target("math_targets:parabola", 1)
    assert t.name == "math_targets:parabola" and not t.host
    for spec, fragment in [(":f", "module:function"), ("math_targets:", "module:function"),
                           ("math_targets:nope", "has no 'nope'"), ("no_such_module:f", "No module named")]:  # fmt: skip
        with pytest.raises(TargetError, match=fragment):
            resolve_target(spec, 1)


def test_a_module_that_fails_to_import_is_one_error(tmp_path, monkeypatch):
    _write_module(tmp_path, "broken_target_mod", "raise RuntimeError('no data file')\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TargetError, match="cannot load target 'broken_target_mod:f': RuntimeError: no data file"):
        resolve_target("broken_target_mod:f", 1)


def test_probe_points_cover_corners_and_centre():
    p = probe_points(3)
    assert p.shape == (16, 3) and p.dtype == np.float64
    np.testing.assert_array_equal(p[:3], [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5]])
    assert 0 <= p.min() and p.max() <= 1
    np.testing.assert_array_equal(p, probe_points(3))  # fixed, not random per call


def _numpy_wave(x):
    x = np.asarray(x)  # NumPy code: JAX cannot trace it
    return np.sin(3 * x[:, 0]) * np.cos(2 * x[:, 1]) + x[:, 2] ** 2


def _jax_wave(x):
    return jnp.sin(3 * x[:, 0]) * jnp.cos(2 * x[:, 1]) + x[:, 2] ** 2


def test_numpy_target_runs_on_the_host_with_the_same_values():
    t = as_target(_numpy_wave, 3, name="wave")
    assert t.host and not as_target(_jax_wave, 3).host
    x = sample_uniform(jax.random.key(0), 200, 3)
    expected = _numpy_wave(np.asarray(x, np.float64))
    np.testing.assert_allclose(t(x), expected, rtol=1e-6, atol=1e-6)  # eager
    np.testing.assert_allclose(jax.jit(t.fn)(x), expected, rtol=1e-6, atol=1e-6)  # inside a compiled program
    assert t(x).dtype == x.dtype


def test_numpy_target_gradient_is_central_differences():
    t = as_target(_numpy_wave, 3)
    x = jnp.asarray(np.random.default_rng(1).uniform(0.05, 0.95, (50, 3)), jnp.float32)
    xs = np.asarray(x, np.float64)
    exact = np.stack([3 * np.cos(3 * xs[:, 0]) * np.cos(2 * xs[:, 1]),
                      -2 * np.sin(3 * xs[:, 0]) * np.sin(2 * xs[:, 1]), 2 * xs[:, 2]], axis=1)  # fmt: skip
    grad = jax.grad(lambda z: jnp.sum(t.fn(z)))(x)
    np.testing.assert_allclose(grad, exact, atol=1e-3)
    # On a face of the cube the difference is one-sided: the target is never called outside [0, 1]^d.
    seen = []
    edge = as_target(lambda z: (seen.append(np.asarray(z).copy()), np.asarray(z)[:, 0] ** 2)[1], 1)
    g = jax.grad(lambda z: jnp.sum(edge.fn(z)))(jnp.array([[0.0], [1.0]]))
    np.testing.assert_allclose(g[:, 0], [0.0 + 1e-4, 2.0 - 1e-4], atol=1e-6)  # forward at 0, backward at 1
    assert all(0.0 <= z.min() and z.max() <= 1.0 for z in seen)


def test_sup_search_with_a_numpy_target_matches_the_jax_target():
    # The d > 2 sup search climbs |f - g| by its gradient: with the NumPy target's
    # central differences it must find what autodiff of the same function finds.
    width, dim = 8, 3
    rng = np.random.default_rng(0)  # NumPy throughout: no eager JAX op to compile
    abstract = nnx.eval_shape(lambda: MLP(dim, [width], 1, init="default", key=jax.random.key(0)))
    graphdef, shapes = nnx.split(abstract)
    state = jax.tree.map(lambda s: rng.normal(0.0, 2.0, (1, *s.shape)).astype(np.float32), shapes)
    (w1, b1), (w2, b2) = [(layer["kernel"][...][0], layer["bias"][...][0]) for layer in state["layers"].values()]
    masks = (np.ones((1, width), np.float32),)
    x_test = rng.uniform(size=(256, dim)).astype(np.float32)
    x_sup = rng.uniform(size=(512, dim)).astype(np.float32)
    sups = {}
    for label, fn in [("jax", _jax_wave), ("numpy", _numpy_wave)]:
        t = as_target(fn, dim)
        y_test = _numpy_wave(x_test.astype(np.float64)).astype(np.float32)
        out = make_measure_fn(graphdef, t.fn, dim)(state, masks, x_test, y_test, x_sup)
        sups[label] = float(out["test_sup"][0])
    g = (1 / (1 + np.exp(-(x_sup @ w1 + b1)))) @ w2 + b2  # the network in NumPy
    start = np.max(np.abs(g[:, 0] - _numpy_wave(x_sup.astype(np.float64))))
    assert sups["jax"] > start * 1.01  # the ascent improves on the starting points ...
    np.testing.assert_allclose(sups["numpy"], sups["jax"], rtol=1e-4)  # ... as much with differences


def _nan_at_corner(x):
    return jnp.log(x[:, 0])


@pytest.mark.parametrize(
    "fn, fragment",
    [
        (
            lambda x: jnp.ones((x.shape[0], 2)),
            "returned shape (16, 2) for 16 points of [0,1]^1; it must return (16,) or (16, 1)",
        ),
        (lambda x: jnp.ones(3), "returned shape (3,)"),
        (_nan_at_corner, "returned NaN or Inf (-inf at x = [0.])"),
        (lambda x: np.sqrt(np.asarray(x)[:, 0] - 0.5), "returned NaN or Inf (nan at x = [0.])"),
        (lambda x: (x[:, 0], x[:, 0]), "returned a tuple"),
        (lambda x: x[:, 0] + 1j, "dtype complex"),
        (lambda x: 1 / 0, "fails on points of [0,1]^1: ZeroDivisionError: division by zero"),
        (os.system, "fails on points of [0,1]^1: TypeError: expected str"),
        (3.0, "is a float, not a function"),
    ],
)
def test_bad_user_targets_are_refused_with_one_line(fn, fragment):
    with pytest.raises(TargetError) as info:
        as_target(fn, 1, name="t")
    message = str(info.value)
    assert fragment in message and TARGET_RULE in message and "\n" not in message
    assert isinstance(info.value, ConfigError)  # bad input, not a bug in approx


def test_numpy_warnings_do_not_escape_the_check():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would be a second line on stderr
        with pytest.raises(TargetError, match="returned NaN or Inf"):
            as_target(lambda x: np.log(np.asarray(x)[:, 0] - 0.5), 1)


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("import os\nf = os.system\n", "fails on points of [0,1]^2: TypeError"),
        ("import jax.numpy as jnp\ndef f(x):\n    return jnp.log(x[:, 0] - 0.5)\n", "returned NaN or Inf"),
        ("def f(x):\n    return x\n", "returned shape (16, 2)"),
        ("def f(x):\n    raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ],
)
def test_cli_refuses_a_bad_target_before_writing(body, fragment, tmp_path, monkeypatch, capsys):
    name = f"cli_bad_target_{zlib.crc32(body.encode())}"
    _write_module(tmp_path, name, body)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert (
        main(["sweep", "--target", f"{name}:f", "--dim", "2", "--widths", "2", "--steps", "5", "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: target '{name}:f'") and fragment in err[0], err
    assert "a target is a function" in err[0]
    assert not out.exists()


def test_cli_refuses_os_system(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["sweep", "--target", "os:system", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: target 'os:system' fails on points") and "a target is" in err[0]
    assert not out.exists()


def test_nan_between_the_probe_points_is_refused_before_writing(tmp_path):
    band = (0.30, 0.31)  # about 10 of 1024 training points, none of the probe points

    def holey(x):
        return jnp.where((x[:, 0] >= band[0]) & (x[:, 0] < band[1]), jnp.nan, x[:, 0])

    assert not ((probe_points(1) >= band[0]) & (probe_points(1) < band[1])).any()
    as_target(holey, 1)  # passes the probe ...
    out = tmp_path / "run"
    with pytest.raises(TargetError, match="returned NaN or Inf"):  # ... not the data
        run_sweep(SweepConfig(widths=(2,), steps=5, seeds=1), out, target=holey)
    assert not out.exists()


def test_numpy_target_raising_between_the_probe_points_is_one_error(tmp_path, capsys):
    band = (0.30, 0.31)

    def holey(x):
        if ((x[:, 0] >= band[0]) & (x[:, 0] < band[1])).any():
            raise ArithmeticError("no value in the band")
        return np.asarray(x)[:, 0]

    as_target(holey, 1)  # passes the probe
    out = tmp_path / "run"
    with pytest.raises(TargetError, match="target 'holey' fails on .0,1.\\^1: ArithmeticError: no value in the band"):
        run_sweep(SweepConfig(widths=(2,), steps=5, seeds=1), out, target=holey)
    assert not out.exists()
    assert capsys.readouterr().err == ""  # JAX's log of the callback's traceback is silenced


def test_nan_on_the_sup_grid_is_refused(tmp_path):
    # A point of the d = 1 sup grid (i / 16384, exact in float32) that is neither a probe point,
    # a training point nor a test point (the midpoints (i + 1/2) / 4096).
    x0 = 11469 / 16384

    def spike(x):
        return jnp.where(x[:, 0] == x0, jnp.inf, x[:, 0])

    out = tmp_path / "run"
    with pytest.raises(TargetError, match="returned NaN or Inf"):
        run_sweep(SweepConfig(widths=(2,), steps=5, seeds=1), out, target=spike)
    assert not out.exists()


@pytest.mark.slow
def test_installed_command_finds_mymodule_and_runs_numpy_targets(tmp_path):
    """The console script (whose sys.path[0] is its own folder, not the current
    one) with a module:function target in the current folder, NumPy in d = 3."""
    _write_module(
        tmp_path, "mymodule", "import numpy as np\ndef f(x):\n    return np.cos(4 * x[:, 0]) * x[:, 1] + x[:, 2]\n"
    )
    script = tmp_path / "bin" / "approx"
    script.parent.mkdir()
    script.write_text("import sys\nfrom approx.cli.app import main\nsys.exit(main())\n")
    env = os.environ | {
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "APPROX_NO_CACHE": "1",
        "JAX_PLATFORMS": "cpu",
    }
    argv = [sys.executable, str(script), "sweep", "--target", "mymodule:f", "--dim", "3", "--widths", "2,8", "--seeds", "2",
            "--steps", "50", "--train-points", "128", "--test-points", "256", "--no-figure", "--out", "run"]  # fmt: skip
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = (tmp_path / "run" / "results.csv").read_text().splitlines()
    assert len(rows) == 5 and all("(NumPy target: finite differences)" in r for r in rows[1:])
