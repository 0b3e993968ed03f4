import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from approx.models import MLP
from approx.targets import grid, make_target, sample_uniform
from approx.train import TrainConfig, make_apply, make_optimizer, make_run_fn, stack_masks


def _ensemble(d, width, seeds, *, init="spread", active=None, padded=None):
    padded = padded or width
    active = active or width

    def one(key):
        return nnx.state(MLP(d, [padded], key=key, init=init, active_widths=[active]))

    keys = jnp.stack([jax.random.key(s) for s in range(seeds)])
    params = jax.vmap(one)(keys)
    graphdef = nnx.graphdef(MLP(d, [padded], key=jax.random.key(0), init=init))
    masks = stack_masks([[active]] * seeds, [padded])
    return graphdef, params, masks, keys


def _fit(target_name, width, steps, *, d=1, seeds=2, n=512, **cfg):
    target = make_target(target_name, d)
    x = sample_uniform(jax.random.key(10), n, d)
    y = target(x)[:, None]
    graphdef, params, masks, keys = _ensemble(d, width, seeds, init=cfg.pop("init", "spread"))
    run = make_run_fn(graphdef, TrainConfig(steps=steps, **cfg))
    result = run(params, masks, x, y, keys)
    xt = grid(2048, 1, midpoints=True) if d == 1 else sample_uniform(jax.random.key(11), 2048, d)
    pred = jax.vmap(lambda p, m: nnx.merge(graphdef, p)(xt, m)[:, 0])(result.params, masks)
    mse = jnp.mean((pred - target(xt)[None, :]) ** 2, axis=1)
    return result, np.asarray(mse)


def test_training_lowers_the_loss():
    result, _ = _fit("nielsen", 8, 300, output_init="none", init="default")
    losses = np.asarray(result.losses)
    assert losses.shape == (2, 300)
    assert np.all(losses[:, -1] < 0.5 * losses[:, 0])
    assert not bool(result.diverged.any())


def test_width_16_sigmoid_fits_sine():
    _, mse = _fit("sine", 16, 500)
    assert np.median(mse) < 1e-3


@pytest.mark.parametrize("width", [4, 8])
def test_teacher_is_fit_once_width_reaches_n0(width):
    _, mse = _fit("teacher", width, 1500, d=1)
    assert np.median(mse) < 1e-4, mse


def test_error_falls_with_width():
    _, narrow = _fit("sine", 2, 300)
    _, wide = _fit("sine", 64, 300)
    assert np.median(wide) < 1e-2 * np.median(narrow)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "lbfgs"])
def test_optimizers_by_name_train(optimizer):
    lr = {"sgd": 0.5, "momentum": 0.1, "rmsprop": 1e-3, "lbfgs": 1.0}[optimizer]
    target = make_target("nielsen")
    x = sample_uniform(jax.random.key(1), 256, 1)
    y = target(x)[:, None]
    graphdef, params, masks, keys = _ensemble(1, 8, 1, init="default")
    run = make_run_fn(graphdef, TrainConfig(optimizer=optimizer, learning_rate=lr, steps=60, output_init="none", schedule="constant"))
    res = run(params, masks, x, y, keys)
    assert float(res.final_loss[0]) < float(res.losses[0, 0])


def test_unknown_optimizer_and_bad_config():
    with pytest.raises(ValueError, match="valid optimizers: adam"):
        make_optimizer("adamm")
    with pytest.raises(ValueError, match="learning rate"):
        TrainConfig(learning_rate=-1.0)
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    assert isinstance(make_optimizer(optax.sgd(0.1)), optax.GradientTransformation)


def test_divergence_is_flagged_inside_the_loop():
    target = make_target("sine")
    x = sample_uniform(jax.random.key(1), 128, 1)
    y = target(x)[:, None] * 1e30  # the loss overflows float32 at once
    graphdef, params, masks, keys = _ensemble(1, 4, 2, init="default")
    run = make_run_fn(graphdef, TrainConfig(optimizer="sgd", learning_rate=1e3, steps=50, output_init="none", schedule="constant"))
    res = run(params, masks, x, y, keys)
    assert bool(res.diverged.all())
    for leaf in jax.tree.leaves(res.params):
        assert bool(jnp.all(jnp.isfinite(leaf)))


@pytest.mark.parametrize("output_init, steps, lr, rtol", [("none", 200, 1e-2, 1e-4), ("lstsq", 1, 1e-9, 1e-4)])
def test_padded_run_equals_unpadded_run(output_init, steps, lr, rtol):
    """Masked units change nothing but rounding. (The least-squares readout
    sees extra zero columns; its rounding differences, carried through many
    Adam steps of a small network, grow chaotically, so that case is
    compared right after the readout.)"""
    target = make_target("sine")
    x = sample_uniform(jax.random.key(2), 256, 1)
    y = target(x)[:, None]
    cfg = TrainConfig(steps=steps, output_init=output_init, learning_rate=lr)
    g1, p1, m1, k1 = _ensemble(1, 6, 2)
    g2, p2, m2, k2 = _ensemble(1, 6, 2, padded=16)
    r1 = make_run_fn(g1, cfg)(p1, m1, x, y, k1)
    r2 = make_run_fn(g2, cfg)(p2, m2, x, y, k2)
    np.testing.assert_allclose(r1.final_loss, r2.final_loss, rtol=rtol)
    w1 = r1.params["layers"][0]["kernel"][...]
    w2 = r2.params["layers"][0]["kernel"][...][:, :, :6]
    np.testing.assert_allclose(w1, w2, rtol=10 * rtol, atol=1e-3)
    # Masked units get zero gradient: their weights never move from the start.
    start = p2["layers"][0]["kernel"][...][:, :, 6:]
    if output_init == "lstsq":
        assert float(jnp.abs(r2.params["layers"][1]["kernel"][...][:, 6:]).max()) == 0.0
    np.testing.assert_array_equal(r2.params["layers"][0]["kernel"][...][:, :, 6:], start)


def test_no_recompilation_on_second_call():
    target = make_target("sine")
    x = sample_uniform(jax.random.key(2), 64, 1)
    y = target(x)[:, None]
    graphdef, params, masks, keys = _ensemble(1, 3, 2)
    cfg = TrainConfig(steps=5)
    run = make_run_fn(graphdef, cfg)
    run(params, masks, x, y, keys)
    before = run._cache_size()
    assert make_run_fn(graphdef, cfg) is run  # the factory is cached
    run(params, masks, x + 0.0, y * 2.0, keys)
    assert run._cache_size() == before == 1


def test_same_seed_same_numbers():
    a, _ = _fit("kink", 8, 100)
    b, _ = _fit("kink", 8, 100)
    np.testing.assert_array_equal(a.losses, b.losses)


@pytest.mark.parametrize("output_init", ["none", "lstsq"])
def test_ensemble_of_one_matches_its_member_in_a_larger_ensemble(output_init):
    # An ensemble of one is run unbatched (XLA's batched reductions over a
    # unit axis are slow on CPU); the numbers must not depend on that.
    target = make_target("sine", 1)
    x = sample_uniform(jax.random.key(10), 256, 1)
    y = target(x)[:, None]
    graphdef, params, masks, keys = _ensemble(1, 8, 2)
    run = make_run_fn(graphdef, TrainConfig(steps=200, output_init=output_init))
    both = run(params, masks, x, y, keys)
    first = lambda tree: jax.tree.map(lambda a: a[:1], tree)  # noqa: E731
    alone = run(first(params), first(masks), x, y, keys[:1])
    assert alone.losses.shape == (1, 200)
    if output_init == "none":
        np.testing.assert_allclose(alone.losses[0], both.losses[0], rtol=1e-5)
        for a, b in zip(jax.tree.leaves(alone.params), jax.tree.leaves(first(both.params))):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    else:
        # The least-squares readout of nearly collinear features is not unique
        # in float32: equal loss, slightly different coefficients, so the
        # trajectories separate a little.
        np.testing.assert_allclose(alone.losses[0, 0], both.losses[0, 0], rtol=1e-5)
        np.testing.assert_allclose(alone.final_loss[0], both.final_loss[0], rtol=2e-2)


def test_ensemble_vmap_squeezes_only_an_ensemble_of_one():
    from approx.train import ensemble_vmap

    traced = []

    def f(a, b):
        traced.append(a.shape)
        return a * b, a.sum()

    g = ensemble_vmap(f, (0, None))
    out, total = g(jnp.ones((1, 3)), 2.0)
    assert traced[-1] == (3,) and out.shape == (1, 3) and total.shape == (1,)
    out, total = g(jnp.ones((2, 3)), 2.0)
    assert traced[-1] == (3,) and out.shape == (2, 3) and total.shape == (2,)
    np.testing.assert_allclose(total, [3.0, 3.0])


# -- the epoch loop (Fashion-MNIST and the Keras-style front) ----------------------------
def _epoch_setup(seeds, d=3, width=8, out=2):
    graphdef = nnx.graphdef(MLP(d, [width], out, key=jax.random.key(0), init="default"))
    params = jax.vmap(lambda k: nnx.state(MLP(d, [width], out, key=k, init="default")))(
        jnp.stack([jax.random.key(s) for s in range(seeds)])
    )
    return graphdef, params


def _mse(y_true, y_pred):
    return jnp.mean((y_true - y_pred) ** 2)


def _softmax_ce(y_true, logits):
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y_true))


@pytest.mark.parametrize("loss", ["mse", "softmax_ce"])
@pytest.mark.parametrize("n, batch_size", [(50, 16), (48, 16), (10, 16)])
@pytest.mark.parametrize("seeds", [1, 2])
@pytest.mark.parametrize("shuffle", [True, False])
def test_epoch_matches_a_plain_loop_of_optax_steps(loss, n, batch_size, seeds, shuffle):
    """Two epochs against a Python loop of Optax steps over the same batches,
    the last one partial (50 = 3 x 16 + 2), whole (48) or the only one (10 < 16):
    the zero-weight padding of the compiled loop changes nothing but rounding."""
    from approx.train import init_train_state, make_epoch_fn

    loss_fn = {"mse": _mse, "softmax_ce": _softmax_ce}[loss]
    graphdef, params = _epoch_setup(seeds)
    x = jax.random.normal(jax.random.key(5), (n, 3))
    y = jax.random.normal(jax.random.key(6), (n, 2)) if loss == "mse" else jnp.arange(n) % 2
    opt = optax.adam(optax.cosine_decay_schedule(0.05, 8))
    epoch = make_epoch_fn(graphdef, opt, loss_fn, batch_size, n, shuffle)
    states = jax.vmap(lambda p: init_train_state(p, opt))(params)
    keys = jnp.stack([jax.random.key(10 + s) for s in range(seeds)])
    got = []
    for e in range(2):
        states, batch_losses = epoch(states, x, y, jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, e))
        got.append(np.asarray(batch_losses))
    assert epoch._cache_size() == 1

    apply = make_apply(graphdef)
    for s in range(seeds):
        p = jax.tree.map(lambda a: a[s], params)
        opt_state = opt.init(p)
        for e in range(2):
            order = jax.random.permutation(jax.random.fold_in(keys[s], e), n) if shuffle else jnp.arange(n)
            expected = []
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                value, grads = jax.value_and_grad(lambda q: loss_fn(y[idx], apply(q, x[idx])))(p)
                updates, opt_state = opt.update(grads, opt_state, p)
                p = optax.apply_updates(p, updates)
                expected.append(float(value))
            np.testing.assert_allclose(got[e][s], expected, rtol=1e-5)
        for a, b in zip(jax.tree.leaves(p), jax.tree.leaves(jax.tree.map(lambda a: a[s], states.params))):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
        assert int(states.step[s]) == 2 * -(-n // batch_size) and not bool(states.diverged[s])


def test_epoch_divergence_goes_back_to_the_epoch_start_and_freezes():
    """A member whose loss overflows is flagged at the end of the epoch, gets
    back its parameters from the start of the epoch and keeps them (its
    optimiser state is not restored: nothing it steps is kept); its neighbour
    in the ensemble trains on."""
    from approx.train import init_train_state, make_epoch_fn

    graphdef, params = _epoch_setup(2)
    params = jax.tree.map(lambda a: a.at[1].multiply(1e20), params)  # member 1's outputs square to inf
    x = jax.random.normal(jax.random.key(5), (40, 3))
    y = jax.random.normal(jax.random.key(6), (40, 2))
    opt = optax.adam(1e-2)
    epoch = make_epoch_fn(graphdef, opt, _mse, 16, 40)
    start = jax.vmap(lambda p: init_train_state(p, opt))(params)
    keys = jnp.stack([jax.random.key(1), jax.random.key(2)])
    states = start
    for _ in range(2):
        states, losses = epoch(states, x, y, keys)
        assert np.isfinite(losses[0]).all() and not np.isfinite(losses[1]).all()
        np.testing.assert_array_equal(states.diverged, [False, True])
        now, then = jax.tree.leaves(states.params), jax.tree.leaves(start.params)
        for a, b in zip(now, then):
            np.testing.assert_array_equal(a[1], b[1])  # frozen at the start
            assert np.isfinite(a).all()
        assert int(states.step[1]) == 0 and float(states.last_loss[1]) == np.inf
    assert int(states.step[0]) == 2 * 3 and np.isfinite(float(states.last_loss[0]))
    assert not np.array_equal(states.params["layers"][0]["kernel"][...][0], start.params["layers"][0]["kernel"][...][0])


def test_per_example_mean_ignores_zero_weight_samples():
    from approx.losses import sparse_categorical_crossentropy
    from approx.train import per_example_mean

    logits = jax.random.normal(jax.random.key(0), (6, 4))
    labels = jnp.array([0, 1, 2, 3, 0, 1])
    weights = jnp.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    loss = functools.partial(sparse_categorical_crossentropy, from_logits=True)
    got = per_example_mean(loss)(labels, logits, weights)
    np.testing.assert_allclose(got, loss(labels[:4], logits[:4]), rtol=1e-6)


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
