"""approx animate: movies of the saved training snapshots, and its one-line errors."""

import numpy as np
import pytest
from PIL import Image, ImageChops

from approx.plots.animate import AnimationError, animate, default_path, format_loss
from approx.cli.app import main
from approx.results import Network, network_path, write_network
from approx.snapshots import Snapshots, flat_params, plot_points

STEPS = np.array([0, 10, 20, 30])


def _save(run_dir, width=3, seed=0, dim=1, snapshots=True):
    """A network file as a sweep writes it, with snapshots that move its readout (no training)."""
    rng = np.random.default_rng(width + 10 * seed)
    kernels = (rng.normal(size=(dim, width)) * 8, rng.normal(size=(width, 1)))
    biases = (-kernels[0].sum(axis=0) / 2, np.zeros(1))
    meta = {"kind": "sweep", "target": "sine", "depth": 1, "width": width, "seed": seed,
            "config": {"data_seed": 0, "train_points": 64, "x64": False}}  # fmt: skip
    nets = [Network(kernels[:1] + (kernels[1] * t,), biases, "sigmoid", meta) for t in (0.0, 0.3, 0.7, 1.0)]
    extras = {}
    if snapshots:
        x = plot_points(dim)
        snaps = Snapshots(STEPS, x, np.stack([n(x) for n in nets]), np.stack([flat_params(n) for n in nets]), np.array([0.5, 0.2, 0.1, 0.05]))
        extras = snaps.arrays()
    net = Network(nets[-1].kernels, nets[-1].biases, "sigmoid", meta, extras)
    write_network(network_path(run_dir, 1, width, seed), net)


def _frames(path):
    with Image.open(path) as im:
        frames = []
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(im.convert("RGB").copy())
    return frames


# About 4-7 s each on two busy cores (JAX builds the target and training points): d = 1 in the quick suite.
@pytest.mark.parametrize(
    "dim, units, lang",
    [(1, True, "es"), pytest.param(2, False, "en", marks=pytest.mark.slow), pytest.param(3, False, "en", marks=pytest.mark.slow)],
)
def test_gif_has_a_frame_per_snapshot_and_the_frames_move(tmp_path, dim, units, lang):
    _save(tmp_path, dim=dim)
    path = animate(tmp_path, 3, units=units, lang=lang)
    assert path == default_path(tmp_path, 3) == tmp_path / "animation_depth1_width3_seed0.gif"
    frames = _frames(path)
    assert len(frames) == len(STEPS)
    assert frames[0].size == (1280, 720)  # 16:9, slide-sized
    assert ImageChops.difference(frames[0], frames[-1]).getbbox() is not None  # the fit moves
    frames[2].save(tmp_path / f"frame_{dim}d.png")  # for a look by eye when the test is run by hand


@pytest.mark.slow
def test_mp4_through_ffmpeg(tmp_path):
    from matplotlib import animation

    if not animation.writers.is_available("ffmpeg"):
        pytest.skip("ffmpeg is not installed")
    _save(tmp_path)
    out = tmp_path / "movie.mp4"
    assert main(["animate", str(tmp_path), "--width", "3", "--format", "mp4", "--out", str(out)]) == 0
    data = out.read_bytes()
    assert len(data) > 1000 and data[4:8] == b"ftyp"  # an MP4 container


def test_mp4_without_ffmpeg_says_so(tmp_path, monkeypatch, capsys):
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    _save(tmp_path)
    assert main(["animate", str(tmp_path), "--width", "3", "--format", "mp4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs ffmpeg" in err[0] and "--format gif" in err[0], err


@pytest.mark.parametrize(
    "setup, argv, fragment",
    [
        ("empty", ["--width", "3"], "holds no saved networks"),
        ("saved", ["--width", "5"], "saved: depth 1: widths 3 x seeds 0"),
        ("saved", ["--width", "3", "--seed", "2"], "no saved network for depth 1, width 3, seed 2"),
        ("plain", ["--width", "3"], "run with --no-explorer or --snapshots 0, or before snapshots existed"),
        ("saved", ["--width", "3", "--format", "avi"], "unknown format 'avi'; valid: gif, mp4"),
        ("saved2d", ["--width", "3", "--units"], "--units draws the hidden units of one hidden layer"),
        ("saved", ["--width", "x"], "invalid int value"),
        ("saved", [], "--width"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path, capsys, setup, argv, fragment):
    if setup != "empty":
        _save(tmp_path, dim=2 if setup == "saved2d" else 1, snapshots=setup != "plain")
    assert main(["animate", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and fragment in err[0], err
    assert not list(tmp_path.glob("*.gif")) and not list(tmp_path.glob(".*"))


def test_library_error_is_an_input_error(tmp_path):
    with pytest.raises(AnimationError, match="no saved networks"):
        animate(tmp_path, 3)


@pytest.mark.parametrize(
    "value, lang, want",
    [(1.234e-3, "en", "1.23 × 10⁻³"), (1.234e-3, "es", "1,23 × 10⁻³"), (0.0521, "es", "0,0521"), (12.5, "en", "12.5"), (0.0, "en", "0")],
)
def test_loss_in_the_title(value, lang, want):
    assert format_loss(value, lang) == want


@pytest.mark.slow
def test_animate_a_real_sweep(tmp_path):
    from approx.config import SweepConfig
    from approx.experiments.sweep import run_sweep

    run_sweep(SweepConfig(widths=(4,), seeds=1, steps=60, train_points=128, test_points=256, snapshots=6), tmp_path)
    out = tmp_path / "m.gif"
    assert main(["animate", str(tmp_path), "--width", "4", "--units", "--out", str(out)]) == 0
    frames = _frames(out)
    assert len(frames) == 7
    assert sum(ImageChops.difference(a, b).getbbox() is not None for a, b in zip(frames, frames[1:])) >= 3
