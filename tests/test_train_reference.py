"""The training loops' numbers against plain loops written here in float64
(NumPy/JAX forward passes, closed-form schedules, Optax's update rules),
and the least-squares readout against NumPy's lstsq."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from approx.models import MLP
from approx.train import TrainConfig, make_run_fn

# -- make_run_fn against a plain loop written here (float64) ---------------------
# Each case: the run function's losses, final parameters and final loss equal
# a Python loop of single steps from the same initial parameters: the forward
# pass, the loss, the learning-rate schedule (closed form), the minibatch rule
# and SGD with L2 are written here; Adam, AdamW and L-BFGS are Optax's.
RUN_STEPS, RUN_POINTS, RUN_BATCH = 24, 48, 16


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def _lr_at(t, lr, schedule, total=RUN_STEPS):
    """The learning rate of step ``t`` (0-based), in closed form."""
    if schedule == "constant":
        return lr
    if schedule == "cosine":  # from lr down to 0 over the run
        return lr * 0.5 * (1 + np.cos(np.pi * min(t, total) / total))
    warm = max(1, total // 20)  # warmup_cosine: linear from 0 over the first 5 %, then cosine to 0
    if t < warm:
        return lr * t / warm
    return lr * 0.5 * (1 + np.cos(np.pi * min(t - warm, total - warm) / (total - warm)))


def _reference_setup(widths, members=2, dim=2, seed=0):
    """Random float64 initial parameters (NumPy), their nnx state with an
    ensemble axis, the data and the keys."""
    rng = np.random.default_rng(seed)
    sizes = [dim, *widths, 1]
    pure = {
        "layers": {
            # weights large enough that hidden features vary over the data
            # (nearly constant ones make the least-squares readout huge)
            i: {"kernel": rng.normal(size=(members, a, b)) * 3 / np.sqrt(a), "bias": rng.normal(size=(members, b))}
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
        }
    }
    abstract = nnx.eval_shape(lambda: MLP(dim, list(widths), 1, key=jax.random.key(0), dtype=jnp.float64))
    graphdef, state = nnx.split(abstract)
    nnx.replace_by_pure_dict(state, jax.tree.map(jnp.asarray, pure))
    x = rng.random((RUN_POINTS, dim))
    y = (np.sin(3 * x[:, :1]) + x[:, 1:2] ** 2) * 0.8
    masks = tuple(jnp.ones((members, w), jnp.float64) for w in widths)
    keys = jnp.stack([jax.random.key(40 + m) for m in range(members)])
    return graphdef, state, pure, masks, jnp.asarray(x), jnp.asarray(y), keys


def _sigmoid(z):
    # The logistic function in the form approx.models computes it. Adam divides
    # each gradient by its own size, so for a saturated unit (sigma' ~ 1e-8,
    # as small as Adam's epsilon) a last-bit difference between two exact
    # formulas of sigma shows up as a 1e-9 relative difference in the update:
    # the loop is compared here, the formula in test_models and test_results.
    return 0.5 * jnp.tanh(0.5 * z) + 0.5


def _forward(p, x):
    """The network written here: sigmoid hidden layers, linear readout."""
    n = len(p["layers"])
    h = x
    for i in range(n - 1):
        h = _sigmoid(h @ p["layers"][i]["kernel"] + p["layers"][i]["bias"][None, :])
    return h @ p["layers"][n - 1]["kernel"] + p["layers"][n - 1]["bias"][None, :]


def _lstsq_readout(p, x, y):
    """The least-squares readout by np.linalg.lstsq on the hidden features (with an intercept)."""
    n = len(p["layers"])
    h = np.asarray(x)
    for i in range(n - 1):
        h = 1 / (1 + np.exp(-(h @ np.asarray(p["layers"][i]["kernel"]) + np.asarray(p["layers"][i]["bias"]))))
    coef, *_ = np.linalg.lstsq(np.concatenate([h, np.ones((len(h), 1))], axis=1), np.asarray(y), rcond=None)
    layers = dict(p["layers"]) | {n - 1: {"kernel": jnp.asarray(coef[:-1]), "bias": jnp.asarray(coef[-1])}}
    return {"layers": layers}


def _reference_run(
    p, x, y, key, optimizer, schedule, batch_size, lr, weight_decay=0.0, output_init="none", steps=RUN_STEPS, keep=None
):
    """A plain loop: one jitted step per iteration, the minibatch of step i
    drawn as documented in make_run_fn (``randint(fold_in(key, i), (b,), 0, n)``).
    ``keep``, a list, receives the parameters after each step count in
    ``keep`` (its entries are replaced by ``(step, params)``)."""
    from jax.flatten_util import ravel_pytree

    if output_init == "lstsq":
        p = _lstsq_readout(p, x, y)
    flat, unravel = ravel_pytree(p)

    def loss(q, xb, yb):
        return jnp.mean((yb - _forward(unravel(q), xb)) ** 2)

    if optimizer == "sgd":
        opt = None  # written out below: q <- q - lr_t (g + wd q)
    elif optimizer == "adam":
        opt = optax.adam(lambda t: _lr_at_jnp(t, lr, schedule))
    elif optimizer == "adamw":
        opt = optax.adamw(lambda t: _lr_at_jnp(t, lr, schedule), weight_decay=weight_decay)
    else:
        opt = optax.lbfgs()
    state = opt.init(flat) if opt is not None else None

    @jax.jit
    def step(q, state, xb, yb, t):
        if optimizer == "lbfgs":
            value_fn = lambda r: loss(r, xb, yb)  # noqa: E731
            value, grad = optax.value_and_grad_from_state(value_fn)(q, state=state)
            updates, state = opt.update(grad, state, q, value=value, grad=grad, value_fn=value_fn)
            return q + updates, state, value
        value, grad = jax.value_and_grad(loss)(q, xb, yb)
        if optimizer == "sgd":
            return q - _lr_at_jnp(t, lr, schedule) * (grad + weight_decay * q), state, value
        updates, state = opt.update(grad, state, q)
        return q + updates, state, value

    start = float(loss(flat, x, y))
    wanted = list(keep) if keep is not None else []
    if keep is not None:
        keep.clear()
    losses = []
    for i in range(steps + 1):
        if i in wanted:
            keep.append((i, unravel(flat)))
        if i == steps:
            break
        if batch_size is None:
            xb, yb = x, y
        else:
            idx = jax.random.randint(jax.random.fold_in(key, i), (batch_size,), 0, x.shape[0])
            xb, yb = x[idx], y[idx]
        flat, state, value = step(flat, state, xb, yb, i)
        losses.append(float(value))
    return unravel(flat), np.asarray(losses), float(loss(flat, x, y)), start


def _lr_at_jnp(t, lr, schedule, total=RUN_STEPS):
    """:func:`_lr_at` for a traced step count."""
    t = jnp.asarray(t, jnp.float64)
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        return lr * 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(t, total) / total))
    warm = max(1, total // 20)
    cosine = lr * 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(t - warm, total - warm) / (total - warm)))
    return jnp.where(t < warm, lr * t / warm, cosine)


def test_closed_form_schedules_are_the_ones_written_in_numpy(x64):
    for schedule in ("constant", "cosine", "warmup_cosine"):
        for t in range(RUN_STEPS + 1):
            np.testing.assert_allclose(float(_lr_at_jnp(t, 0.1, schedule)), _lr_at(t, 0.1, schedule), rtol=1e-6)
    assert _lr_at(0, 0.1, "warmup_cosine") == 0.0 and _lr_at(1, 0.1, "warmup_cosine") == pytest.approx(0.1)


# The quick suite runs one case per optimizer family and schedule; the rest
# (and L-BFGS, whose line search takes 10-20 s to compile twice) run with -m slow.
_QUICK = {("adam", "cosine", None), ("adam", "warmup_cosine", RUN_BATCH), ("sgd", "constant", RUN_BATCH)}
_RUN_CASES = [
    pytest.param(o, s, b, marks=() if (o, s, b) in _QUICK else pytest.mark.slow, id=f"{o}-{s}-{'full' if b is None else 'batch'}")
    for o in ("adam", "sgd", "lbfgs")
    for s in (("constant",) if o == "lbfgs" else ("constant", "cosine", "warmup_cosine"))
    for b in (None, RUN_BATCH)
]


def _check_run_against_reference(widths, optimizer, schedule, batch_size, lr, weight_decay=0.0, output_init="none"):
    # L-BFGS runs 12 steps: on minibatches its line search amplifies
    # rounding, to 5e-7 of the loss by step 17.
    steps = 12 if optimizer == "lbfgs" else RUN_STEPS
    graphdef, state, pure, masks, x, y, keys = _reference_setup(widths)
    cfg = TrainConfig(
        optimizer=optimizer, learning_rate=lr, steps=steps, schedule=schedule, batch_size=batch_size,
        output_init=output_init, weight_decay=weight_decay,
    )  # fmt: skip
    result = make_run_fn(graphdef, cfg)(state, masks, x, y, keys)
    assert result.losses.shape == (2, steps) and not bool(result.diverged.any())
    got = nnx.to_pure_dict(result.params)
    for m in range(2):
        p0 = jax.tree.map(lambda a: jnp.asarray(a[m]), pure)
        p, losses, final, start = _reference_run(
            p0, x, y, keys[m], optimizer, schedule, batch_size, lr, weight_decay, output_init, steps
        )
        assert final < start  # the case trains at all
        # L-BFGS: its line search and curvature pairs turn last-bit differences
        # (dot products summed in another order) into ~1e-9 of the loss and
        # ~1e-8 of a parameter in directions the loss barely sees. After a
        # least-squares readout the readout's gradient is zero up to rounding,
        # and Adam divides each gradient by its size: the two solvers' last
        # bits (LAPACK through NumPy, JAX's SVD) show up at ~1e-8.
        rtol = 1e-7 if optimizer == "lbfgs" or output_init == "lstsq" else 1e-9
        np.testing.assert_allclose(result.losses[m], losses, rtol=rtol, err_msg="losses")
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(p)):  # relative to each array's scale
            np.testing.assert_allclose(a[m], b, rtol=rtol, atol=rtol * float(np.abs(b).max()), err_msg="parameters")
        np.testing.assert_allclose(result.final_loss[m], final, rtol=rtol, err_msg="final loss")


@pytest.mark.parametrize("optimizer, schedule, batch_size", _RUN_CASES)
def test_run_fn_equals_a_plain_loop(x64, optimizer, schedule, batch_size):
    lr = {"adam": 0.05, "sgd": 0.5, "lbfgs": 1.0}[optimizer]
    _check_run_against_reference((6,), optimizer, schedule, batch_size, lr)


@pytest.mark.parametrize(
    "optimizer, schedule, batch_size, weight_decay, output_init",
    [
        ("adam", "constant", None, 0.0, "lstsq"),  # the least-squares readout, then Adam
        pytest.param("sgd", "cosine", None, 0.05, "none", marks=pytest.mark.slow),  # L2 added to the gradient
        pytest.param("adamw", "warmup_cosine", RUN_BATCH, 0.05, "none", marks=pytest.mark.slow),  # decoupled decay
    ],
)
def test_run_fn_equals_a_plain_loop_with_two_hidden_layers(x64, optimizer, schedule, batch_size, weight_decay, output_init):
    lr = {"adam": 0.003, "adamw": 0.05, "sgd": 0.5}[optimizer]
    _check_run_against_reference((5, 4), optimizer, schedule, batch_size, lr, weight_decay, output_init)


@pytest.mark.parametrize("widths", [(7,), (5, 4)])
def test_least_squares_readout_equals_numpy_lstsq(x64, widths):
    from approx.train import fit_output_layer

    graphdef, state, pure, masks, x, y, _ = _reference_setup(widths, members=1)
    one = jax.tree.map(lambda a: a[0], state)
    fitted = nnx.to_pure_dict(fit_output_layer(graphdef, one, x, y, tuple(m[0] for m in masks)))
    expected = _lstsq_readout(jax.tree.map(lambda a: a[0], pure), x, y)
    top = len(widths)
    np.testing.assert_allclose(fitted["layers"][top]["kernel"], expected["layers"][top]["kernel"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fitted["layers"][top]["bias"], expected["layers"][top]["bias"], rtol=1e-8, atol=1e-10)
    for i in range(top):  # the hidden layers are untouched
        np.testing.assert_array_equal(fitted["layers"][i]["kernel"], one["layers"][i]["kernel"][...])


def test_least_squares_readout_of_a_padded_network_equals_the_unpadded_one(x64):
    """Masked units are zero columns: they get weight zero, the live units the
    unpadded least-squares solution (np.linalg.lstsq on the live features)."""
    from approx.train import fit_output_layer

    graphdef, state, pure, _, x, y, _ = _reference_setup((9,), members=1)
    one = jax.tree.map(lambda a: a[0], state)
    mask = (jnp.arange(9) < 6).astype(jnp.float64)
    fitted = nnx.to_pure_dict(fit_output_layer(graphdef, one, x, y, (mask,)))
    live = {"layers": {0: {"kernel": pure["layers"][0]["kernel"][0][:, :6], "bias": pure["layers"][0]["bias"][0][:6]}, 1: {}}}
    expected = _lstsq_readout(live, x, y)
    np.testing.assert_allclose(fitted["layers"][1]["kernel"][:6], expected["layers"][1]["kernel"], rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(fitted["layers"][1]["kernel"][6:], 0.0)
    np.testing.assert_allclose(fitted["layers"][1]["bias"], expected["layers"][1]["bias"], rtol=1e-8)


# -- snapshots: the network at the steps of approx.snapshots.snapshot_steps ---------
@pytest.mark.parametrize(
    "optimizer, schedule, batch_size, count, output_init",
    [
        # 8-9 s each (three compilations): with -m slow; the quick suite checks the sweep's saved snapshots.
        pytest.param("adam", "cosine", None, 4, "none", marks=pytest.mark.slow),  # 4 chunks of 6 steps: an inner scan of known length
        # chunks of 5 and 4 steps: an inner loop of traced length (8 s: compiles the readout's SVD twice)
        pytest.param("adam", "cosine", None, 5, "lstsq", marks=pytest.mark.slow),
        pytest.param("sgd", "constant", RUN_BATCH, 5, "none", marks=pytest.mark.slow),  # minibatches: the snapshot loss is the full training loss
    ],
)
def test_snapshots_equal_a_plain_loop(x64, optimizer, schedule, batch_size, count, output_init):
    from approx.snapshots import snapshot_steps

    lr = {"adam": 0.05, "sgd": 0.5}[optimizer]
    graphdef, state, pure, masks, x, y, keys = _reference_setup((6,))
    points = jnp.asarray(np.random.default_rng(5).random((30, 2)))
    cfg = TrainConfig(
        optimizer=optimizer, learning_rate=lr, steps=RUN_STEPS, schedule=schedule, batch_size=batch_size,
        output_init=output_init, snapshots=count,
    )  # fmt: skip
    result = make_run_fn(graphdef, cfg)(state, masks, x, y, keys, points)
    plain = make_run_fn(graphdef, dataclasses.replace(cfg, snapshots=0))(state, masks, x, y, keys)
    # Recording snapshots changes nothing the run returns, bit for bit.
    for a, b in zip(jax.tree.leaves(result[:4]), jax.tree.leaves(plain)):
        np.testing.assert_array_equal(a, b)
    steps = snapshot_steps(RUN_STEPS, count)
    snaps = result.snapshots
    assert snaps.fit.shape == (2, count + 1, 30) and snaps.loss.shape == (2, count + 1)
    for m in range(2):
        kept = list(steps)
        p0 = jax.tree.map(lambda a: jnp.asarray(a[m]), pure)
        _reference_run(p0, x, y, keys[m], optimizer, schedule, batch_size, lr, 0.0, output_init, RUN_STEPS, keep=kept)
        assert [s for s, _ in kept] == list(steps)
        rtol = 1e-7 if output_init == "lstsq" else 1e-9
        # The least-squares readout's large coefficients cancel in the sum:
        # its parameters' 1e-8 differences (see above) reach 2e-7 of the fit.
        # and 1e-6 of the loss at its minimum (the residuals are small).
        fit_rtol = 1e-6 if output_init == "lstsq" else rtol
        loss_rtol = 1e-5 if output_init == "lstsq" else rtol
        for k, (s, p) in enumerate(kept):
            at = jax.tree.map(lambda a: a[m, k], nnx.to_pure_dict(snaps.params))
            for a, b in zip(jax.tree.leaves(at), jax.tree.leaves(p)):
                np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * float(np.abs(b).max()), err_msg=f"params at step {s}")
            want = _forward(p, points)[:, 0]
            np.testing.assert_allclose(snaps.fit[m, k], want, rtol=fit_rtol, atol=fit_rtol * float(np.abs(want).max()), err_msg=f"fit at step {s}")
            full_loss = float(jnp.mean((y - _forward(p, x)) ** 2))
            np.testing.assert_allclose(snaps.loss[m, k], full_loss, rtol=loss_rtol, err_msg=f"loss at step {s}")
        # The last snapshot is the returned network.
        for a, b in zip(jax.tree.leaves(jax.tree.map(lambda a: a[m, -1], nnx.to_pure_dict(snaps.params))),
                        jax.tree.leaves(jax.tree.map(lambda a: a[m], nnx.to_pure_dict(result.params)))):  # fmt: skip
            np.testing.assert_array_equal(a, b)


def test_snapshot_count_is_checked():
    with pytest.raises(ValueError, match="snapshots must be an integer in 0..steps"):
        TrainConfig(steps=10, snapshots=11)
    with pytest.raises(ValueError, match="snapshots"):
        TrainConfig(steps=10, snapshots=-1)
