"""The benchmark's report: the terminal table and lines of ``approx bench``,
and the scaling figure. (``--json`` prints :meth:`BenchResult.to_dict`.)"""

from __future__ import annotations

import math
from pathlib import Path

from approx.bench.result import BenchResult
from approx.plots.style import PALETTE, lecture_style, log_scale, plt, save_figure

__all__ = ["format_keras", "format_results", "plot_scaling"]


def _seconds_range(pair) -> str:
    low, high = pair
    return f"{low:.3f}-{high:.3f}"


def _format_w1(r: BenchResult) -> list[str]:
    e = r.extra
    lines = [(f"w1 end to end: cold cache {e['cold_wall_s']:.1f} s, warm cache {e['warm_wall_s']:.1f} s "
             f"({e.get('device_count')} {e.get('backend')} device(s), {e.get('snapshots')} snapshots); cold run: training groups "
             f"{e.get('cold_groups_s') or math.nan:.1f} s (compile {r.compile_s:.1f} s of it), "
             f"the rest start-up, summary and figure")]  # fmt: skip
    if "torch_wall_s" in e:
        lines.append(f"w1 PyTorch ({e['torch_threads']} threads): {e['torch_wall_s']:.1f} s; "
                     f"speedup {e['speedup_cold']:.1f}x cold, {e['speedup_warm']:.1f}x warm")  # fmt: skip
        for w in sorted(e["median_test_mse"]):
            t = e["torch_median_test_mse"].get(w)
            lines.append(f"  width {int(w):>4}: median test MSE approx {e['median_test_mse'][w]:.2e}, PyTorch {t:.2e}")
    ideal = r.flops / (r.ceiling_gflops * 1e9)
    lines.append(f"w1 steady state: {r.run_s:.2f} s against {ideal:.2f} s at the ceiling ({r.run_s / ideal:.2f}x)")
    return lines


def _format_fmnist(r: BenchResult) -> list[str]:
    e = r.extra
    parts = ", ".join(f"{k} {v:.2f}" for k, v in e["compile_parts_s"].items())
    lines = [
        (f"fmnist approx: training epoch {e['epoch_s']:.3f} s ({_seconds_range(e['epoch_s_range'])}), evaluation {e['eval_s']:.3f} s, "
        f"compile {r.compile_s:.2f} s ({parts}); test accuracy {e['test_accuracy']:.4f}"),
        (f"fmnist approx: {e['epochs']} epochs with evaluation and compile {e['five_epoch_total_s']:.2f} s "
        f"({_seconds_range(e['five_epoch_total_s_range'])}); best of {e['rounds']} round(s)"),
    ]  # fmt: skip
    if "torch_epoch_s" in e:
        lines.append(f"fmnist PyTorch ({e['torch_threads']} threads): training epoch {e['torch_epoch_s']:.3f} s "
                     f"({_seconds_range(e['torch_epoch_s_range'])}), evaluation {e['torch_eval_s']:.3f} s, "
                     f"{e['epochs']} epochs with evaluation {e['torch_five_epoch_total_s']:.2f} s; "
                     f"test accuracy {e['torch_test_accuracy']:.4f}")  # fmt: skip
        lines.append(f"fmnist speedup over PyTorch (rounds interleaved): {e['speedup']:.2f}x per training epoch, "
                     f"{e['speedup_with_eval']:.2f}x per epoch with evaluation, "
                     f"{e['speedup_five_epochs_with_compile']:.2f}x over {e['epochs']} epochs with evaluation and compile")  # fmt: skip
    return lines


def _format_scaling(r: BenchResult) -> list[str]:
    e = r.extra
    lines = [f"scaling: width {row['width']:>5} x 4 seeds: {row['per_run_s'] * 1e3:8.1f} ms per run" for row in e["by_width"]]
    for row in e["by_seeds"]:
        lines.append(f"scaling: width 64 x {row['seeds']:>3} seeds: {row['run_s'] * 1e3:8.1f} ms per program, {row['per_run_s'] * 1e3:7.1f} ms per run")
    return lines + [f"figure: {f}" for f in e.get("figures", [])]


def _ratio_range(pair) -> str:
    return f"{pair[0]:.2f}-{pair[1]:.2f}"


def format_keras(result: BenchResult) -> list[str]:
    """The ``keras`` workload's lines: the epoch against its floors, and each course program."""
    e = result.extra
    lines = [
        (f"keras 784-128-10 epoch (batch 128, after compile): approx.keras {e['epoch_s']:.3f} s, "
        f"{e['epoch_over_matmul']:.2f}x the epoch's matrix products alone measured right after it "
        f"(rounds {_ratio_range(e['epoch_over_matmul_range'])}; floor {e['matmul_epoch_s']:.3f} s), "
        f"{e['epoch_s'] / e['fused_epoch_s']:.2f}x the same arithmetic in one large batch ({e['fused_epoch_s']:.3f} s)")
    ]
    if "keras_epoch_s" in e:
        lines[-1] += f"; Keras {e['keras_version']} on JAX {e['keras_epoch_s']:.3f} s: {e['epoch_speedup']:.2f}x faster"
    for name, entry in e["programs"].items():
        line = f"keras course program {name:<10}: build+compile+fit approx {entry['approx']['fit_s']:.2f} s"
        if "keras" in entry:
            line += f", Keras {entry['keras']['fit_s']:.2f} s ({entry['speedup']:.2f}x)"
        results = ", ".join(f"{k} {v:.4g}" for k, v in entry["approx"]["results"].items())
        lines.append(line + f"; approx {results}")
        if "keras" in entry:
            lines.append(" " * 33 + "Keras " + ", ".join(f"{k} {v:.4g}" for k, v in entry["keras"]["results"].items()))
    if "fits_speedup" in e:
        t = e["fits_total_s"]
        lines.append(f"keras course programs, all fits with compilation: approx {t['approx']:.2f} s, Keras {t['keras']:.2f} s "
                     f"({e['fits_speedup']:.2f}x); best of {e['rounds']} round(s)")  # fmt: skip
    return lines


_DETAILS = {"w1": _format_w1, "fmnist": _format_fmnist, "keras": format_keras, "scaling": _format_scaling}


def format_results(results: list[BenchResult]) -> str:
    """The table of every workload's rates, then each workload's own lines."""
    lines = [
        f"{'workload':<9} {'compile s':>9} {'run s':>8} {'steps/s':>10} {'samples/s':>11} {'GFLOP/s':>8} {'ceiling':>8} {'fraction':>8}",
    ]
    for r in results:
        lines.append(
            f"{r.workload:<9} {r.compile_s:>9.2f} {r.run_s:>8.2f} {r.steps_per_s:>10.0f} {r.samples_per_s:>11.3g} "
            f"{r.gflops:>8.1f} {r.ceiling_gflops:>8.1f} {r.fraction:>8.2f}"
        )
    for r in results:
        lines += _DETAILS[r.workload](r)
    return "\n".join(lines)


def plot_scaling(by_width, by_seeds, stem: Path, backend: str = "cpu") -> list[Path]:
    """Time per run against width (left) and per program against seeds (right), PNG and PDF."""
    with lecture_style():
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
        w = [r["width"] for r in by_width]
        axes[0].plot(w, [r["per_run_s"] * 1e3 for r in by_width], "o-", color=PALETTE[0])
        log_scale(axes[0], "x", base=2, plain=True)
        log_scale(axes[0], "y")
        axes[0].set_xlabel("hidden width n (4 seeds)")
        axes[0].set_ylabel("ms per run")
        s = [r["seeds"] for r in by_seeds]
        axes[1].plot(s, [r["run_s"] * 1e3 for r in by_seeds], "o-", color=PALETTE[1], label="measured")
        axes[1].plot(s, [by_seeds[0]["run_s"] * 1e3 * k for k in s], ":", color="0.4", label="linear in seeds")
        log_scale(axes[1], "x", base=2, plain=True)
        log_scale(axes[1], "y")
        axes[1].set_xlabel("seeds trained together (width 64)")
        axes[1].set_ylabel("ms per program")
        axes[1].legend()
        fig.suptitle(f"Cost of a run ({backend})")
        fig.tight_layout()
        return save_figure(fig, stem)
