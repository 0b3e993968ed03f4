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


@pytest.mark.slow
def test_training_lowers_the_loss():
    result, _ = _fit("nielsen", 8, 300, output_init="none", init="default")
    losses = np.asarray(result.losses)
    assert losses.shape == (2, 300)
    assert np.all(losses[:, -1] < 0.5 * losses[:, 0])
    assert not bool(result.diverged.any())


# Fitting quality is shown end to end by the sweep tests (error falls with
# width, numbers against NumPy); these longer trainings run with -m slow.
@pytest.mark.slow
def test_width_16_sigmoid_fits_sine():
    _, mse = _fit("sine", 16, 500)
    assert np.median(mse) < 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("width", [4, 8])
def test_teacher_is_fit_once_width_reaches_n0(width):
    _, mse = _fit("teacher", width, 1500, d=1)
    assert np.median(mse) < 1e-4, mse


@pytest.mark.slow
def test_error_falls_with_width():
    _, narrow = _fit("sine", 2, 300)
    _, wide = _fit("sine", 64, 300)
    assert np.median(wide) < 1e-2 * np.median(narrow)


@pytest.mark.parametrize(
    "optimizer", ["sgd", *(pytest.param(o, marks=pytest.mark.slow) for o in ("lbfgs", "momentum", "rmsprop"))]
)
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


@pytest.mark.parametrize(
    "output_init, steps, lr, rtol",
    # (the padded least-squares readout alone is in the quick suite: test_train_reference.py)
    [pytest.param(*case, marks=pytest.mark.slow) for case in [("none", 200, 1e-2, 1e-4), ("lstsq", 1, 1e-9, 1e-4)]],
)
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


@pytest.mark.slow  # the sweep's bit-for-bit tests (test_sweep.py) cover it in the quick suite
def test_same_seed_same_numbers():
    a, _ = _fit("kink", 8, 100)
    b, _ = _fit("kink", 8, 100)
    np.testing.assert_array_equal(a.losses, b.losses)


@pytest.mark.parametrize("output_init", [pytest.param("none", marks=pytest.mark.slow), "lstsq"])
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


# Four of the 24 cases in the quick suite: every loss, batch layout, ensemble
# size and shuffle setting appears in one of them; all 24 run with -m slow.
# Two quick cases (a ragged last batch with one member and shuffling; an exact split with two members
# and no shuffling); the other ten run with -m slow.
_EPOCH_QUICK = {("mse", 48, 16, 2, False), ("softmax_ce", 50, 16, 1, True)}
_EPOCH_CASES = [
    pytest.param(*case, marks=() if case in _EPOCH_QUICK else pytest.mark.slow, id="-".join(map(str, case)))
    for case in [
        (loss, n, b, seeds, shuffle)
        for loss in ("mse", "softmax_ce")
        for n, b in ((50, 16), (48, 16), (10, 16))
        for seeds in (1, 2)
        for shuffle in (True, False)
    ]
]


@pytest.mark.parametrize("loss, n, batch_size, seeds, shuffle", _EPOCH_CASES)
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
