"""approx.snapshots: the steps kept, the plotting points, the file format and its round trip."""

import numpy as np
import pytest

from approx.results import Network
from approx.snapshots import Snapshots, flat_params, network_at, plot_points, snapshot_steps, snapshots_of


@pytest.mark.parametrize("steps, count", [(3000, 40), (150, 40), (150, 7), (24, 5), (79, 40), (10, 10), (1, 1), (5, 1)])
def test_snapshot_steps_layout(steps, count):
    got = snapshot_steps(steps, count)
    # Independent reference: NumPy's own split of the steps into `count` nearly equal chunks.
    ends = np.cumsum([len(c) for c in np.array_split(np.arange(steps), count)])
    np.testing.assert_array_equal(got, np.concatenate([[0], ends]))
    assert got.shape == (count + 1,) and got[0] == 0 and got[-1] == steps
    assert np.all(np.diff(got) >= 1)  # strictly increasing
    assert set(np.diff(got)) <= {steps // count, steps // count + 1}
    if steps % count == 0:
        np.testing.assert_array_equal(got, np.arange(count + 1) * (steps // count))


@pytest.mark.parametrize("steps, count, match", [(10, 11, "at most steps"), (10, 0, "count"), (0, 1, "steps"), (10, True, "count")])
def test_snapshot_steps_refuses_bad_counts(steps, count, match):
    with pytest.raises(ValueError, match=match):
        snapshot_steps(steps, count)


def _network(rng, dim=2, widths=(3, 4)):
    sizes = [dim, *widths, 1]
    kernels = tuple(rng.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:]))
    biases = tuple(rng.normal(size=(b,)) for b in sizes[1:])
    return Network(kernels, biases, "sigmoid")


def test_flat_params_order_and_network_at_round_trip():
    rng = np.random.default_rng(0)
    nets = [_network(rng) for _ in range(3)]
    flat = flat_params(nets[0])
    # kernel_0 row-major, bias_0, kernel_1, ...: written out by hand.
    k, b = nets[0].kernels, nets[0].biases
    np.testing.assert_array_equal(flat[:6], [k[0][0, 0], k[0][0, 1], k[0][0, 2], k[0][1, 0], k[0][1, 1], k[0][1, 2]])
    np.testing.assert_array_equal(flat[6:9], b[0])
    assert flat.size == sum(a.size for a in k + b)
    x = plot_points(2)
    snaps = Snapshots(np.array([0, 5, 10]), x, np.stack([n(x) for n in nets]), np.stack([flat_params(n) for n in nets]))
    for i, net in enumerate(nets):
        back = network_at(nets[-1], snaps, i)
        for a, c in zip(back.kernels + back.biases, net.kernels + net.biases):
            np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(back(x), snaps.fit[i])
    with pytest.raises(ValueError, match="no parameters"):
        network_at(nets[0], Snapshots(snaps.steps, x, snaps.fit), 0)
    with pytest.raises(ValueError, match="network has 5"):
        network_at(_network(rng, widths=(1,)), snaps, 0)


def test_snapshots_of_reads_the_optional_arrays():
    rng = np.random.default_rng(1)
    net = _network(rng)
    x = plot_points(2)
    full = Snapshots(np.array([0, 3]), x, np.zeros((2, len(x))), np.zeros((2, 27)), np.array([0.5, 0.25]))
    got = snapshots_of(Network(net.kernels, net.biases, net.activation, {}, full.arrays()))
    np.testing.assert_array_equal(got.loss, [0.5, 0.25])
    assert got.params.shape == (2, 27)
    fits_only = {k: v for k, v in full.arrays().items() if k in ("snapshot_steps", "snapshot_x", "snapshot_fit")}
    got = snapshots_of(Network(net.kernels, net.biases, net.activation, {}, fits_only))
    assert got.params is None and got.loss is None and got.fit.shape == (2, len(x))
    assert snapshots_of(net) is None
    with pytest.raises(ValueError, match="snapshot_loss"):
        snapshots_of(Network(net.kernels, net.biases, net.activation, {}, full.arrays() | {"snapshot_loss": np.zeros(3)}))
    with pytest.raises(ValueError, match="snapshot_params"):
        snapshots_of(Network(net.kernels, net.biases, net.activation, {}, full.arrays() | {"snapshot_params": np.zeros(27)}))


@pytest.mark.parametrize("dim, count", [(1, 257), (2, 49 * 49), (3, 3 * 129)])
def test_plot_points_cover_the_cube(dim, count):
    x = plot_points(dim)
    assert x.shape == (count, dim) and x.min() == 0.0 and x.max() == 1.0
