"""Training movies: a sweep run's fit over its training snapshots.

:func:`animate` draws one frame per snapshot kept with a saved network (see
:mod:`approx.snapshots`) and writes them with :mod:`matplotlib.animation`:
a GIF through Pillow (always available), an MP4 through ffmpeg when it is
installed. Frames are slide-sized (16:9, 1280 x 720 pixels, the lecture
style's large type and colour-blind-safe palette), in English or Spanish.

* ``d = 1``: the target, the training points and the network's fit at each
  snapshot; the title says the step and the training loss. With ``units``
  (one hidden layer), also each hidden unit's contribution
  ``a_j sigma(w_j x + b_j)`` at that step, drawn as lecture figure 3 draws
  them (faint, ordered by where each unit switches, a dot at its centre).
* ``d = 2``: the fit as a heat map beside the target's, on one colour scale.
* ``d > 2``: the slice along axis 0 through the cube's centre.

The movie reads only the run directory (the network file and its
metadata); the target is rebuilt by name, the training points from the
sweep's ``data_seed`` as the sweep drew them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from approx.config import ANIMATION_FORMATS
from approx.errors import InputError
from approx.plots.explorer import training_points
from approx.plots.style import PALETTE, decimal_ticks, lecture_style, number, plt
from approx.plots.text import LANGS, display_name, text
from approx.results import NETWORK_ACTIVATIONS, NetworkError, load_network
from approx.snapshots import PLOT_POINTS_SLICE, PLOT_SIDE_2D, Snapshots, network_at, snapshots_of
from approx.targets import resolve_target

__all__ = ["FORMATS", "AnimationError", "animate", "default_path"]

FORMATS = ANIMATION_FORMATS
FPS = 8  # 41 frames (the default 40 snapshots) in about five seconds
SIZE = (12.8, 7.2)  # inches at 100 dpi: 1280 x 720 pixels, 16:9
# Unit colours as lecture figure 3: the Okabe-Ito hues other than the fit's blue, yellow and black.
UNIT_COLORS = ("#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999999")


class AnimationError(InputError):
    """A movie that cannot be made from what was asked (no such network, no snapshots, a bad format)."""


_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_loss(value: float, lang: str = "en") -> str:
    """``1.23 × 10⁻³`` (Spanish: ``1,23 × 10⁻³``); plain digits between 0.01 and 1000."""
    if not math.isfinite(value):
        return str(value)
    if value == 0 or 1e-2 <= abs(value) < 1e3:
        return number(value, lang, ".3g")
    exponent = math.floor(math.log10(abs(value)))
    if round(abs(value) / 10**exponent, 2) >= 10:  # 9.999e-3 is 1.00 × 10⁻², not 10.00 × 10⁻³
        exponent += 1
    mantissa = number(value / 10**exponent, lang, ".2f")
    return f"{mantissa} × 10{str(exponent).translate(_SUPERSCRIPTS)}"


def default_path(run_dir: str | Path, width: int, seed: int = 0, depth: int = 1, fmt: str = "gif") -> Path:
    """``RUN_DIR/animation_depthD_widthN_seedS.gif`` (or ``.mp4``)."""
    return Path(run_dir) / f"animation_depth{int(depth)}_width{int(width)}_seed{int(seed)}.{fmt}"


def _writer(fmt: str):
    from matplotlib import animation

    if fmt not in FORMATS:
        raise AnimationError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    if fmt == "gif":
        return animation.PillowWriter(fps=FPS)
    if not animation.writers.is_available("ffmpeg"):
        raise AnimationError("format='mp4' needs ffmpeg, which was not found on this machine; install it or use format='gif'")
    return animation.FFMpegWriter(fps=FPS, codec="libx264", bitrate=-1, extra_args=["-pix_fmt", "yuv420p"])


def _target_values(meta: dict, x: np.ndarray) -> np.ndarray | None:
    """The run's target at ``x`` (rebuilt by name), or None when it cannot be rebuilt here
    (a ``module:function`` that is not importable from this folder)."""
    import jax.numpy as jnp


    try:
        target = resolve_target(meta["target"], int(meta["dim"]))
        return np.asarray(target(jnp.asarray(x, jnp.float32)), np.float64)
    except (KeyError, ValueError, ImportError):
        return None


def _training_points(meta: dict) -> np.ndarray | None:
    """The sweep's training points (see :func:`approx.plots.explorer.training_points`),
    or ``None`` when the manifest does not say how they were drawn."""

    config = meta.get("config", {})
    try:
        return training_points(config | {"dim": int(meta["dim"])})
    except (KeyError, TypeError, ValueError):
        return None


def animate(
    run_dir: str | Path,
    width: int,
    seed: int = 0,
    depth: int = 1,
    *,
    fmt: str = "gif",
    units: bool = False,
    lang: str = "en",
    out: str | Path | None = None,
) -> Path:
    """Writes the movie of run ``(depth, width, seed)`` of the sweep in
    ``run_dir`` and returns its path (default :func:`default_path`).

    Raises :class:`AnimationError` (one line) for a folder without saved
    networks, a run that is not in it (naming those that are), a network
    saved without snapshots, ``units`` on a network of more than one hidden
    layer, an unknown format or ``mp4`` without ffmpeg.
    """
    if lang not in LANGS:
        raise AnimationError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    writer = _writer(fmt)
    try:
        net = load_network(run_dir, width, seed=seed, depth=depth)
        snaps = snapshots_of(net)
    except NetworkError as e:
        raise AnimationError(str(e)) from None
    except ValueError as e:  # snapshot arrays of the wrong shapes
        raise AnimationError(f"the network of depth {depth}, width {width}, seed {seed}: {e}") from None
    if snaps is None:
        raise AnimationError(
            f"the network of depth {depth}, width {width}, seed {seed} in {str(run_dir)!r} has no training snapshots: "
            "the sweep was run with snapshots=0, or before snapshots existed; "
            "run it again with snapshots=K (default 40)"
        )
    if units and (net.dim != 1 or len(net.widths) != 1):
        raise AnimationError(
            f"units=True draws the hidden units of one hidden layer on [0, 1]; this network has dim {net.dim} and depth {len(net.widths)}"
        )
    if units and snaps.params is None:
        raise AnimationError("units=True needs the parameters at each snapshot (snapshot_params), which this network file does not keep")
    path = Path(out) if out is not None else default_path(run_dir, width, seed, depth, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    with lecture_style():
        fig, update = _figure(net, snaps, units, lang)
        from matplotlib.animation import FuncAnimation

        movie = FuncAnimation(fig, update, frames=len(snaps.steps), blit=False, repeat=False)
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
        try:
            movie.save(tmp, writer=writer, dpi=100)
            tmp.replace(path)  # a movie cut short never replaces a finished one
        finally:
            tmp.unlink(missing_ok=True)
            plt.close(fig)
    return path


def _title(net, lang: str) -> str:
    meta = net.meta
    target = display_name(str(meta.get("target", "")), lang)
    if len(net.widths) > 1:
        return text("an_title_depth", lang, target=target, d=len(net.widths), n=net.widths[0], seed=meta.get("seed", 0))
    return text("an_title", lang, target=target, n=net.widths[0], seed=meta.get("seed", 0))


def _figure(net, snaps: Snapshots, units: bool, lang: str):
    """The figure and ``update(k)``, which draws snapshot ``k``."""
    meta = dict(net.meta)
    steps = snaps.steps
    loss = snaps.loss

    def step_text(k: int) -> str:
        value = format_loss(float(loss[k]), lang) if loss is not None else "–"
        return text("an_step", lang, s=int(steps[k]), n=int(steps[-1]), loss=value)

    if net.dim == 2:
        return _figure_2d(net, snaps, meta, lang, step_text)
    return _figure_line(net, snaps, meta, units, lang, step_text)


def _unit_artists(ax, net, lang: str):
    """Empty lines and dots for the hidden units' terms (coloured in the order
    of where the final network's units switch) and the output bias line;
    returns ``(lines, dots, bias_line, order)``."""
    centre = -net.biases[0] / np.where(net.kernels[0][0] == 0, np.inf, net.kernels[0][0])
    order = np.argsort(centre)  # colours follow the units as the final network orders them
    lines, dots = [], []
    for i, _ in enumerate(order):
        color = UNIT_COLORS[i % len(UNIT_COLORS)]
        lines.append(ax.plot([], [], color=color, alpha=0.55, linewidth=2.0, zorder=1)[0])
        dots.append(ax.plot([], [], "o", color=color, alpha=0.9, markersize=6, zorder=1)[0])
    ax.plot([], [], color="0.55", linewidth=2.0, label=text("an_units", lang))
    bias_line = ax.axhline(0.0, color="0.35", linestyle=":", linewidth=2, label=text("an_bias", lang))
    return lines, dots, bias_line, order


def _figure_line(net, snaps: Snapshots, meta: dict, units: bool, lang: str, step_text):
    """d = 1, or the slice along axis 0 for d > 2."""
    if net.dim == 1:
        x_pts, fits, xlabel = snaps.x, snaps.fit, text("an_x", lang)
    else:  # the first PLOT_POINTS_SLICE points are the line along axis 0
        x_pts, fits, xlabel = snaps.x[:PLOT_POINTS_SLICE], snaps.fit[:, :PLOT_POINTS_SLICE], text("an_slice", lang)
    x = x_pts[:, 0]
    f = _target_values(meta, x_pts)
    fig, ax = plt.subplots(figsize=SIZE)
    fig.suptitle(_title(net, lang))
    ax.axhline(0.0, color="0.6", linewidth=1)
    values = [fits]
    if f is not None:
        ax.plot(x, f, "--", color="black", linewidth=2.5, label=text("an_target", lang), zorder=3)
        values.append(f)
        if net.dim == 1:
            xt = _training_points(meta)
            if xt is not None:
                yt = _target_values(meta, xt)
                ax.plot(xt[:, 0], yt, "o", color="0.45", markersize=3.5, alpha=0.5, label=text("an_train", lang), zorder=2)
    lo, hi = float(np.min([np.min(v) for v in values])), float(np.max([np.max(v) for v in values]))
    pad = 0.08 * (hi - lo or 1.0)
    unit_lines, unit_dots, bias_line, order = _unit_artists(ax, net, lang) if units else ([], [], None, None)
    (fit_line,) = ax.plot(x, fits[0], color=PALETTE[0], linewidth=4, label=text("an_fit", lang), zorder=4)
    ax.set_xlim(float(x.min()), float(x.max()))
    ax.set_ylim(lo - pad, hi + (0.35 if units else 0.2) * (hi - lo or 1.0))
    ax.set_xlabel(xlabel)
    decimal_ticks(ax, lang)
    ax.legend(loc="upper left", ncol=2 if units else 3, fontsize=13)
    title = ax.set_title(step_text(0))
    act = NETWORK_ACTIVATIONS[net.activation]

    def update(k: int):
        fit_line.set_ydata(fits[k])
        title.set_text(step_text(k))
        if units:
            at = network_at(net, snaps, k)
            w, b, a = at.kernels[0][0], at.biases[0], at.kernels[1][:, 0]
            terms = a[:, None] * act(w[:, None] * x[None, :] + b[:, None])
            for line, dot, j in zip(unit_lines, unit_dots, order):
                line.set_data(x, terms[j])
                c = -b[j] / w[j] if w[j] != 0 else np.nan
                inside = np.isfinite(c) and x.min() <= c <= x.max()
                dot.set_data([c] if inside else [], [a[j] / 2] if inside else [])  # sigma's midpoint: half the unit's height
            bias_line.set_ydata([float(at.biases[1][0])] * 2)
        return [fit_line, title, *unit_lines, *unit_dots]

    fig.tight_layout()
    update(0)
    return fig, update


def _figure_2d(net, snaps: Snapshots, meta: dict, lang: str, step_text):
    """The fit's heat map beside the target's (the plotting grid, first coordinate along the horizontal axis)."""
    side = PLOT_SIDE_2D
    f = _target_values(meta, snaps.x)
    fits = snaps.fit.reshape(len(snaps.steps), side, side)
    ref = f if f is not None else snaps.fit[-1]
    lo, hi = float(np.min(ref)), float(np.max(ref))
    show = {"origin": "lower", "extent": (0, 1, 0, 1), "interpolation": "nearest", "cmap": "viridis", "vmin": lo, "vmax": hi}
    with plt.rc_context({"axes.grid": False}):
        fig, axes = plt.subplots(1, 2, figsize=SIZE, constrained_layout=True)
        fig.suptitle(_title(net, lang))
        if f is not None:
            axes[0].imshow(f.reshape(side, side).T, **show)  # (x1, x2) indexing: transpose so x1 runs horizontally
        axes[0].set_title(text("an_target", lang))
        image = axes[1].imshow(fits[0].T, **show)
        title = axes[1].set_title(text("an_fit", lang))
        for ax in axes:
            ax.set_xlabel("x₁")
            ax.set_ylabel("x₂")
            ax.set_xticks([0, 0.5, 1], [number(v, lang) for v in (0, 0.5, 1)])
            ax.set_yticks([0, 0.5, 1], [number(v, lang) for v in (0, 0.5, 1)])
        bar = fig.colorbar(image, ax=axes, shrink=0.8, pad=0.02)
        bar.set_label(text("an_value", lang))
        decimal_ticks(bar.ax, lang)
        caption = fig.supxlabel(step_text(0), fontsize=17)  # constrained layout keeps it clear of the x labels

    def update(k: int):
        image.set_data(fits[k].T)
        caption.set_text(step_text(k))
        return [image, title, caption]

    return fig, update
