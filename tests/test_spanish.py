"""The figures' two languages: one table of labels, one number formatter, and
no English label in a Spanish figure (nor the other way round).

The text objects of each figure are read as it is saved: the sweep's figure,
the four Fashion-MNIST figures of a small synthetic run directory (no
training), a frame of a training movie, the explorer page's strings, and the
lecture figures that need no training (tests/test_figures.py reads all ten,
built small, in its slow tests).
"""

from __future__ import annotations

import json
import re
import string

import matplotlib.text
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from language import ONLY, language_errors, misread_numbers

from approx.data.fashion_mnist import CLASS_NAMES, FashionMNIST
from approx.plots import animate as animate_plots
from approx.plots import fmnist as fmnist_plots
from approx.plots import sweep as sweep_plots
from approx.plots.explorer import page_strings
from approx.plots.lecture import drawing as lecture_drawing
from approx.plots.lecture import fmnist_accuracy, sigmoid_step
from approx.plots.style import number
from approx.plots.text import _LABELS, _NAMES, LANGS, display_name, display_names, strings, text
from approx.results import load_network

LANG = pytest.mark.parametrize("lang", LANGS)


# -- the table ------------------------------------------------------------------------------
def _fields(label: str) -> list[tuple[str, str]]:
    """The ``{name:spec}`` fields of a label, in order."""
    return [(name, spec) for _, name, spec, _ in string.Formatter().parse(label) if name is not None]


@pytest.mark.parametrize("key", sorted(_LABELS))
def test_each_label_takes_the_same_fields_in_both_languages(key):
    en, es = _LABELS[key]
    assert sorted(_fields(en)) == sorted(_fields(es))
    assert es.strip() and en.strip()


def test_the_tables_have_the_same_keys_and_fields():
    from approx.plots.text import TEXT

    assert TEXT["en"].keys() == TEXT["es"].keys()
    for key in TEXT["en"]:
        assert sorted(_fields(TEXT["en"][key])) == sorted(_fields(TEXT["es"][key])), key
    assert display_names("en").keys() == display_names("es").keys() == _NAMES.keys()


def test_only_formulas_and_names_read_the_same_in_both_languages():
    same = {k for k, (en, es) in _LABELS.items() if en == es}
    lecture = {"lf_x", "lf1_right", "lf1_w", "lf4_kink", "lf4_step", "lf6_abs_err"}  # formulas after a display name
    assert same == {"barron", "fm_arch", "an_x", "ex_x", "ex_heat_error"} | lecture
    assert {k for k, (en, es) in _NAMES.items() if en == es} == {"relu", "gelu", "elu", "softplus"}


def test_spanish_labels_follow_the_house_rules():
    for key, (en, es) in _LABELS.items():
        for label in (en, es):
            assert not re.search(r"(?<![\w{}])-\s*\d|\|f - g\|", label), (key, label)  # a true minus sign
            assert "min-max" not in label and "mín-máx" not in label, (key, label)  # an en dash in ranges
        assert "(s)" not in es and "objetivo" not in es.lower().replace("función objetivo", ""), (key, es)


def test_text_and_display_names():
    assert text("error_vs_width", "es", target=display_name("sine", "es")) == "Error según la anchura: seno"
    assert display_name("sigmoid", "es") == "sigmoide" and display_name("relu", "es") == "ReLU"
    assert display_name("my_module:f", "es") == "my_module:f"  # a user's target is shown as given
    assert strings("ex_", "es")["seed"] == "semilla"
    with pytest.raises(ValueError, match=r"unknown language 'fr'; valid: en, es"):
        text("width", "fr")
    with pytest.raises(ValueError, match=r"unknown language 'fr'"):
        display_name("sine", "fr")


def test_the_language_check_can_fail():
    assert "en word 'squared'" in language_errors([text("width", "es"), text("test_mse", "en")], "es")
    assert language_errors([display_name("sigmoid", "en")], "es")  # an untranslated activation is caught
    assert language_errors(["10⁻³", "x"], "es")
    assert not language_errors([text("width", "es"), "10⁻³"], "es")
    assert "sigmoid" in ONLY["en"] and "sigmoide" in ONLY["es"]


# -- the number formatter ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, lang, spec, want",
    [
        (0.5, "es", "g", "0,5"),
        (0.5, "en", "g", "0.5"),
        (-0.25, "en", "g", "\u22120.25"),
        (-1234.5, "es", ".1f", "\u22121234,5"),  # four digits stay whole
        (12345.5, "es", ".1f", "12\u2009345,5"),  # five take a thin space
        (1234567, "es", ",d", "1\u2009234\u2009567"),
        (1234567, "en", ",d", "1,234,567"),
        (0.903, "es", ".1%", "90,3\u00a0%"),
        (0.903, "en", ".1%", "90.3%"),
        (1.0, "es", ".0%", "100\u00a0%"),
        (2.5e-5, "es", ".2g", "2,5e\u221205"),
        (-1.02, "es", ".2f", "\u22121,02"),
    ],
)
def test_number(value, lang, spec, want):
    assert number(value, lang, spec) == want


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    st.sampled_from(["g", ".3g", ".2f", ".1f", ".1%", ".4e"]),
)
def test_spanish_number_reads_back_as_python_writes_it(value, spec):
    """Undoing the Spanish marks gives back Python's own ``format``."""
    es = number(value, "es", spec)
    assert "." not in es and "-" not in es
    back = es.replace("\u2009", "").replace("\u00a0", "").replace(",", ".").replace("\u2212", "-")
    assert back == format(value, spec)


# -- the figures' text ------------------------------------------------------------------------
def _recording(monkeypatch, module) -> dict[str, list[str]]:
    """Records the text objects of every figure ``module`` saves, by file stem."""
    seen: dict[str, list[str]] = {}
    save = module.save_figure

    def recording(fig, stem):
        seen[str(stem).rsplit("/", 1)[-1]] = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        return save(fig, stem)

    monkeypatch.setattr(module, "save_figure", recording)
    return seen


@LANG
def test_sweep_figure_speaks_its_language(tmp_path, monkeypatch, lang):
    rows = [
        {"target": "ridge", "depth": "1", "width": str(w), "seed": str(s), "test_mse": str(1.0 / w**1.3 + s * 1e-4),
         "test_sup": str(2.0 / w + s * 1e-3), "diverged": str(w == 8 and s == 1).lower()}
        for w in (1, 2, 4, 8, 16) for s in (0, 1, 2)
    ]  # fmt: skip
    seen = _recording(monkeypatch, sweep_plots)
    sweep_plots.plot_error_vs_width(rows, tmp_path / "error_vs_width", lang=lang)
    texts = seen["error_vs_width"]
    assert not language_errors(texts, lang), texts
    assert not misread_numbers(texts, lang), texts
    assert text("diverged_1", lang) in texts
    slope = next(t for t in texts if t.startswith(text("fit", lang, slope="")))
    mark = "," if lang == "es" else "."
    assert re.search(rf"\u2212\d{re.escape(mark)}\d\d ± \d{re.escape(mark)}\d\d$", slope), slope  # a negative slope


def _fmnist_run(directory, n_test: int = 200):
    """A Fashion-MNIST run directory as approx fmnist writes it, with made-up
    numbers (no training), and the synthetic data set its predictions are for."""
    rng = np.random.default_rng(0)
    widths, seeds, epochs = (8, 32), (0, 1), 3
    fields = {"activation": "sigmoid", "epochs": str(epochs), "train_loss": "0.4", "test_loss": "0.5", "diverged": "false",
              "seconds": "1.0"}  # fmt: skip
    rows = [
        {"depth": "1", "width": str(w), "seed": str(s), "test_accuracy": str(0.80 + 0.001 * w + 0.002 * s),
         "params": str(785 * w + 10 * (w + 1)), **fields}
        for w in widths for s in seeds
    ]  # fmt: skip
    history = [
        {"depth": "1", "width": str(w), "seed": str(s), "epoch": str(e), "train_loss": str(1.0 / e),
         "test_loss": str(1.1 / e), "train_accuracy": str(0.7 + 0.05 * e), "test_accuracy": str(0.68 + 0.05 * e)}
        for w in widths for s in seeds for e in range(1, epochs + 1)
    ]  # fmt: skip
    for name, table in (("results.csv", rows), ("history.csv", history)):
        header = list(table[0])
        lines = [",".join(header)] + [",".join(r[k] for k in header) for r in table]
        (directory / name).write_text("\n".join(lines) + "\n")
    (directory / "manifest.json").write_text(json.dumps({"kind": "fmnist", "config": {"test_subset": n_test}}))
    y_test = rng.integers(0, 10, n_test).astype(np.uint8)
    predicted = np.where(rng.random(n_test) < 0.85, y_test, rng.integers(0, 10, n_test)).astype(np.uint8)
    best = directory / "predictions" / "depth1_width32_seed1.npy"
    best.parent.mkdir()
    np.save(best, predicted)
    images = rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)
    return FashionMNIST(images, y_test, images, y_test, CLASS_NAMES, "synthetic"), float(np.mean(predicted == y_test))


@pytest.mark.parametrize("lang", [pytest.param("en", marks=pytest.mark.slow), "es"])
def test_fashion_mnist_figures_speak_their_language(tmp_path, monkeypatch, lang):
    dataset, accuracy = _fmnist_run(tmp_path)
    seen = _recording(monkeypatch, fmnist_plots)
    paths = fmnist_plots.plot_fmnist(tmp_path, lang=lang, dataset=dataset)
    assert sorted(seen) == ["accuracy_vs_width", "confusion_matrix", "learning_curves", "test_predictions"]
    assert len(paths) == 8
    for stem, texts in seen.items():
        assert not language_errors(texts, lang), (stem, texts)
        assert not misread_numbers(texts, lang), (stem, texts)
    assert display_name("sigmoid", lang) in " ".join(seen["learning_curves"])
    title = next(t for t in seen["confusion_matrix"] if "\n" in t)
    assert title.endswith(" " + number(accuracy, lang, ".1%"))


@LANG
def test_a_movie_frame_speaks_its_language(tmp_path, lang):
    from test_animate import _save

    _save(tmp_path, dim=1)
    network = load_network(tmp_path, 3)
    snapshots = animate_plots.snapshots_of(network)
    with animate_plots.lecture_style():
        fig, update = animate_plots._figure(network, snapshots, True, lang)
        update(2)
        texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        animate_plots.plt.close(fig)
    assert not language_errors(texts, lang), texts
    assert not misread_numbers(texts, lang), texts
    assert text("an_title", lang, target=display_name("sine", lang), n=3, seed=0) in texts


@LANG
def test_explorer_strings_speak_their_language(lang):
    page = page_strings()
    assert page["en"].keys() == page["es"].keys()
    assert not language_errors(list(page[lang].values()), lang)
    assert not language_errors([display_name(n, lang) for n in ("sigmoid", "cos_squasher", "teacher", "kink")], lang)


# -- the lecture figures ----------------------------------------------------------------------
@LANG
def test_lecture_figure_1_speaks_its_language(tmp_path, monkeypatch, lang):
    seen = _recording(monkeypatch, lecture_drawing)
    sigmoid_step.figure_sigmoid_step_bump(tmp_path, lang=lang)
    texts = seen["01_sigmoid_to_step"]
    assert not language_errors(texts, lang), texts
    assert not misread_numbers(texts, lang), texts
    assert text("lf1_left", lang, s=number(0.4, lang)) in texts  # s = 0,4 in Spanish
    assert display_name("sigmoid", lang) in next(
        t for t in texts if t.startswith(text("lf1_title", lang, sigmoid="")[:4])
    )
    assert number(0.2, lang) in texts  # a tick of the linear y axis


@LANG
@pytest.mark.parametrize("epochs", [1, 10])
def test_fashion_mnist_lecture_figure_says_what_it_was_trained_on(lang, epochs):
    """The built-in sweep's note counts the images and epochs of its config."""
    from approx.config import FMNISTConfig

    whole = fmnist_accuracy._trained_on(FMNISTConfig(epochs=epochs), lang)
    small = fmnist_accuracy._trained_on(FMNISTConfig(epochs=epochs, train_subset=512, test_subset=300), lang)
    assert number(60000, lang, ",d") in whole and number(10000, lang, ",d") in whole
    assert "512" in small and "300" in small and "60" not in small
    epochs_word = {("en", 1): "1 epoch,", ("en", 10): "10 epochs", ("es", 1): "1 época ", ("es", 10): "10 épocas"}
    assert epochs_word[lang, epochs] in whole
    assert not language_errors([whole], lang) and not misread_numbers([whole], lang)
    assert fmnist_accuracy._config(quick=False) == FMNISTConfig(
        widths=(16, 32, 64, 128, 256, 512, 1024), depths=(1, 2), seeds=2, epochs=10, lr=0.002
    )
