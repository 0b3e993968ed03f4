"""Lecture figures: every figure is drawn, is not blank, and speaks its language.

The figures are built once per module in quick mode (tiny computations),
English then Spanish, with the cache in a temporary directory; the Spanish
build reuses the English build's computed results, so it only draws. The
text of every figure (titles, labels, legends, annotations) is read from the
figure object as it is saved. Building them all takes minutes on two cores:
those tests are ``slow``; the pieces and one figure through the command line
run in the quick suite.
"""

from __future__ import annotations

import ast
from contextlib import contextmanager
from pathlib import Path

import matplotlib.text
import numpy as np
import pytest
from language import language_errors as _language_errors
from language import misread_numbers
from matplotlib import image as mpimg

from approx.cli.app import main
from approx.plots import lecture as lf
from approx.plots.lecture import drawing
from approx.plots.lecture.cache import computing_modules
from approx.plots.lecture.fmnist_accuracy import figure_fashion_mnist
from approx.plots.text import TEXT as _TEXT

FIGURE_NUMBERS = [f.number for f in lf.FIGURES]
# Pixel standard deviation of an RGB(A) image in [0, 1]: a white page is 0; the
# sparsest real figure (thin curves on white) is above 0.1.
BLANK_STD = 0.03


@contextmanager
def _captured_text():
    """Records the text of every figure lecture_figures saves, by file stem."""
    texts: dict[str, list[str]] = {}
    save = drawing.save_figure

    def recording(fig, stem):
        texts[str(stem).rsplit("/", 1)[-1]] = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        return save(fig, stem)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(drawing, "save_figure", recording)
        yield texts


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    out = {}
    for lang in ("en", "es"):
        directory = tmp_path_factory.mktemp(lang)
        with _captured_text() as texts:
            report = lf.build_figures(directory, lang, quick=True, cache_dir=cache)
        out[lang] = (directory, report, texts)
    return out


def _png(directory, number):
    return directory / f"{lf.FIGURES[number - 1].stem}.png"


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("number", FIGURE_NUMBERS)
def test_figure_written_and_not_blank(builds, lang, number):
    directory, report, _ = builds[lang]
    if number in report.skipped:
        assert number == 9, f"only the Fashion-MNIST figure may be skipped, got {number}: {report.skipped[number]}"
        pytest.skip(f"figure 9 skipped: {report.skipped[number]}")
    png = _png(directory, number)
    assert png.exists() and png.with_suffix(".pdf").exists()
    assert png.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    pixels = mpimg.imread(png)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 600  # 200 dpi
    assert float(pixels[..., :3].std()) > BLANK_STD


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_figure_reads_in_its_language(builds, lang):
    _, report, texts = builds[lang]
    drawn = [f.stem for f in lf.FIGURES if f.number not in report.skipped]
    assert len(drawn) >= 9 and set(drawn) <= set(texts)
    problems = {stem: _language_errors(texts[stem], lang) + misread_numbers(texts[stem], lang) for stem in drawn}
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


@pytest.mark.slow
def test_spanish_text_differs_from_english_in_every_figure(builds):
    (_, en_report, en), (_, es_report, es) = builds["en"], builds["es"]
    for fig in lf.FIGURES:
        if fig.number in en_report.skipped or fig.number in es_report.skipped:
            continue
        assert set(en[fig.stem]) != set(es[fig.stem]), fig.stem


@pytest.mark.slow
def test_paths_reported_are_the_files_written(builds):
    directory, report, _ = builds["en"]
    assert {p.name for p in report.paths} == {p.name for p in directory.iterdir() if p.suffix in (".png", ".pdf")}
    assert all(p.parent == directory for p in report.paths)


@pytest.mark.slow
def test_rebuild_is_deterministic(builds, tmp_path):
    """Drawing again from the cache gives the same pixels (figures 1 and 4)."""
    directory, _, _ = builds["en"]
    cache = next(p for p in directory.parent.iterdir() if p.name.startswith("cache"))
    lf.build_figures(tmp_path, "en", quick=True, only=[1, 4], cache_dir=cache)
    for n in (1, 4):
        assert np.array_equal(mpimg.imread(_png(directory, n)), mpimg.imread(_png(tmp_path, n)))


# -- pieces -------------------------------------------------------------------------------
def test_labels_exist_in_both_languages_and_spanish_ones_are_translated():
    en = {k: v for k, v in _TEXT["en"].items() if k.startswith("lf")}
    es = {k: v for k, v in _TEXT["es"].items() if k.startswith("lf")}
    assert set(en) == set(es)
    # Only formulas and symbols read the same in both languages.
    formulas = {"lf_x", "lf1_right", "lf1_w", "lf4_kink", "lf4_step", "lf6_abs_err"}
    assert {k for k in en if en[k] == es[k]} <= formulas


def test_cache_computes_once_and_refresh_recomputes(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"v": np.arange(3.0)}

    cache = lf.FigureCache(tmp_path)
    first = cache.arrays("fig", {"a": 1}, compute)
    second = cache.arrays("fig", {"a": 1}, compute)
    np.testing.assert_array_equal(first["v"], second["v"])
    assert len(calls) == 1
    cache.arrays("fig", {"a": 2}, compute)  # other settings, other entry
    assert len(calls) == 2
    fresh = lf.FigureCache(tmp_path, refresh=True)
    fresh.arrays("fig", {"a": 1}, compute)
    fresh.arrays("fig", {"a": 1}, compute)  # refreshed once per process, then reused
    assert len(calls) == 3


def _approx_imports(path) -> set[str]:
    """The approx modules a source file imports, at any level of the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("approx")}


def test_code_digest_covers_every_module_that_decides_the_numbers():
    """The digest follows the computations' imports: it holds the modules
    that decide a trained network's numbers, and nothing that only draws,
    parses or benchmarks."""
    package = Path(lf.__file__).resolve().parents[2]
    names = {str(p.relative_to(package)) for p in computing_modules()}
    decide = {
        "experiments/sweep.py", "experiments/fmnist.py", "experiments/comparisons.py", "targets.py", "models.py",
        "train/__init__.py", "train/_run.py", "train/_epoch.py", "plan.py", "experiments/buckets.py", "measure.py",
        "config.py", "backend.py", "results.py", "snapshots.py", "data/fashion_mnist.py",
    }  # fmt: skip
    assert decide <= names, sorted(decide - names)
    assert not any(n.startswith(("plots/", "cli/", "keras/", "bench/")) for n in names), sorted(names)


def test_figures_import_no_training_and_nothing_above_them():
    """Layers: the lecture figures ask experiments/ for results and never
    import the training loop or the command line; the computations never
    import plots."""
    package = Path(lf.__file__).resolve().parents[2]
    for path in sorted((package / "plots" / "lecture").glob("*.py")):
        bad = {n for n in _approx_imports(path) if n == "approx.train" or n.startswith("approx.cli")}
        assert not bad, (path.name, bad)
    assert not {n for n in _approx_imports(package / "experiments" / "comparisons.py") if n.startswith("approx.plots")}


def test_select_figures_validates_numbers():
    assert [f.number for f in lf.select_figures([4, 1, 4])] == [1, 4]
    with pytest.raises(ValueError, match="unknown figure number"):
        lf.select_figures([0])


def test_gallery_lists_every_figure_with_its_command():
    text = lf.gallery_markdown()
    for fig in lf.FIGURES:
        assert f"({fig.stem}.png)" in text
        assert f"`approx figures --only {fig.number}`" in text


def test_fashion_mnist_figure_skips_without_data(tmp_path, monkeypatch):
    monkeypatch.setenv("APPROX_DATA_DIR", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    report = lf.build_figures(tmp_path / "out", "en", quick=True, only=[9], cache_dir=tmp_path / "cache")
    assert not report.paths
    assert "Fashion-MNIST data not found" in report.skipped[9]


def test_fashion_mnist_figure_reads_given_results(tmp_path):
    """A run directory of ``approx fmnist`` is drawn without training or data."""
    header = "depth,width,activation,seed,epochs,train_loss,test_loss,test_accuracy,params,diverged,seconds"
    rows = [header + ",train_accuracy"]
    for depth in (1, 2):
        for width, acc in ((16, 0.80), (64, 0.84), (256, 0.86)):
            for seed in (0, 1):
                a = acc - 0.01 * depth + 0.002 * seed
                rows.append(f"{depth},{width},sigmoid,{seed},5,0.3,0.4,{a},{width * 795},false,1.0,{a + 0.03}")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.csv").write_text("\n".join(rows) + "\n")
    for lang in ("en", "es"):
        with _captured_text() as texts:
            paths = figure_fashion_mnist(tmp_path / lang, lang=lang, cache=lf.FigureCache(tmp_path / "c"),
                                         results=tmp_path / "run")  # fmt: skip
        assert float(mpimg.imread(paths[0])[..., :3].std()) > BLANK_STD
        (stem,) = texts
        assert not _language_errors(texts[stem], lang) and not misread_numbers(texts[stem], lang), texts
    assert not (tmp_path / "c").exists()  # nothing computed


# -- command line ---------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["es", "en"])
def test_cli_builds_a_figure_in_its_language(tmp_path, capsys, lang):
    with _captured_text() as texts:
        rc = main(["figures", "--only", "1", "--lang", lang, "--out", str(tmp_path / "f"), "--quick",
                   "--cache-dir", str(tmp_path / "c")])  # fmt: skip
    assert rc == 0
    png = tmp_path / "f" / "01_sigmoid_to_step.png"
    assert png.exists() and png.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    assert float(mpimg.imread(png)[..., :3].std()) > BLANK_STD
    assert capsys.readouterr().out.count("figure:") == 2
    assert list(texts) == ["01_sigmoid_to_step"]
    assert not _language_errors(texts["01_sigmoid_to_step"], lang), texts


def test_the_language_check_can_fail():
    # An English label left in a Spanish figure, or a figure with no words of its language, is caught.
    assert _language_errors([_TEXT["es"]["width"], _TEXT["en"]["test_mse"]], "es")
    assert _language_errors(["10⁻³", "x"], "es")
    assert not _language_errors([_TEXT["es"]["width"], "10⁻³"], "es")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--only", "11"], "unknown figure number"),
        (["--only", "a,b"], "--only must be figure numbers"),
        (["--lang", "fr"], "invalid choice"),
    ],
)
def test_cli_bad_input_is_one_error_line(tmp_path, capsys, args, message):
    rc = main(["figures", "--out", str(tmp_path), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert not any(tmp_path.iterdir())


def test_log_axis_labels_are_plain_unicode():
    # Powers read as on matplotlib's own log axes, without its TeX-like parser.
    from approx.plots.style import PowerFormatter

    ten, two = PowerFormatter(base=10), PowerFormatter(base=2)
    for f in (ten, two):
        f.create_dummy_axis()
        f.axis.set_view_interval(1e-6, 1e3)
        f.axis.set_data_interval(1e-6, 1e3)
    assert ten(1e-6) == "10⁻⁶" and ten(1000.0) == "10³" and ten(1.0) == "10⁰"
    assert two(16.0) == "2⁴" and two(0.25) == "2⁻²"


@pytest.mark.parametrize("lang, title", [("es", "Error según la anchura: seno"), ("en", "Error against width: sine")])
def test_sweep_figure_names_its_target_in_its_language(tmp_path, monkeypatch, lang, title):
    """The sweep's title names the target as the class reads it (the code's
    name, 'sine', is English), and its labels read in the figure's language."""
    from approx.plots import style as plots
    from approx.plots import sweep as sweep_plots

    rows = [
        {"target": "sine", "depth": "1", "width": str(w), "seed": str(s), "test_mse": str(1.0 / w**2 + s * 1e-4),
         "test_sup": str(2.0 / w + s * 1e-3), "diverged": "false"}
        for w in (1, 2, 4, 8) for s in (0, 1)
    ]  # fmt: skip
    seen = {}
    save = plots.save_figure

    def recording(fig, stem):
        seen["texts"] = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        return save(fig, stem)

    monkeypatch.setattr(sweep_plots, "save_figure", recording)
    sweep_plots.plot_error_vs_width(rows, tmp_path / "error_vs_width", lang=lang)
    assert title in seen["texts"]
    assert not _language_errors(seen["texts"], lang)
    assert plots.display_name("my_module:f", lang) == "my_module:f"  # a user's target is shown as given
