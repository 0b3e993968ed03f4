"""Every label of the figures, English and Spanish side by side.

One row per label: ``key: (English, Spanish)``, grouped by figure, so that
the two languages are reviewed together and cannot drift apart (a test checks
that each row's two texts take the same format fields). Numbers are written
by :func:`approx.plots.style.number` before they are put into a label, so that
a label never decides a decimal mark.

Spanish as a lecturer writes it: *función objetivo* for the target, *exactitud*
for accuracy (*precisión* is precision), *ECM* for the mean squared error,
*anchura* for a layer's width; a true minus sign (−) and an en dash in ranges
(mín–máx).

The lecture figures and the scenario figures still add their own rows with
:func:`register_text`; they are read by :func:`text` as these are.
"""

from __future__ import annotations

from typing import Mapping

from approx.config import LANGS

__all__ = ["LANGS", "TEXT", "display_name", "display_names", "register_text", "strings", "text"]


# Targets (approx.targets) and activations (approx.models) as a class reads
# their names. Names that are not here (a user's module:function) are shown
# as given.
_NAMES: dict[str, tuple[str, str]] = {
    # targets
    "sine": ("sine", "seno"),
    "nielsen": ("Nielsen's function", "función de Nielsen"),
    "kink": ("kink", "función con punto anguloso"),
    "step": ("step", "escalón"),
    "bump": ("bump", "campana gaussiana"),
    "sawtooth": ("sawtooth", "diente de sierra"),
    "ridge": ("ridge", "funciones cresta"),
    "teacher": ("teacher network", "red maestra"),
    # activations
    "sigmoid": ("sigmoid", "sigmoide"),
    "tanh": ("tanh", "tangente hiperbólica"),
    "relu": ("ReLU", "ReLU"),
    "gelu": ("GELU", "GELU"),
    "elu": ("ELU", "ELU"),
    "sin": ("sine", "seno"),
    "cos_squasher": ("cosine squasher", "función de compresión coseno"),
    "softplus": ("softplus", "softplus"),
    "linear": ("linear", "lineal"),
}

_LABELS: dict[str, tuple[str, str]] = {
    # -- the sweep's figure: error against width (approx.plots.sweep) ----------------------
    "width": ("hidden width n", "anchura de la capa oculta n"),
    "test_mse": ("test MSE (squared L2 error)", "ECM de prueba (error L2 al cuadrado)"),
    "test_sup": ("sup error  max |f − g|", "error uniforme  máx |f − g|"),
    "median_seeds": ("median over {k} seeds", "mediana de {k} semillas"),
    "one_seed": ("one seed", "una semilla"),
    "fit": ("fit: slope {slope}", "ajuste: pendiente {slope}"),
    "barron": ("Barron: (2C)²/n", "Barron: (2C)²/n"),
    "one_over_n": ("reference 1/n", "referencia 1/n"),
    "error_vs_width": ("Error against width: {target}", "Error según la anchura: {target}"),
    "diverged_1": ("1 diverged run left out", "1 entrenamiento divergente omitido"),
    "diverged": ("{k} diverged runs left out", "{k} entrenamientos divergentes omitidos"),
    "depth": ("depth {d}", "profundidad {d}"),
    "l2_panel": ("L2 (mean squared) error", "error L2 (cuadrático medio)"),
    "sup_panel": ("uniform (sup) error", "error uniforme (sup)"),
    # -- Fashion-MNIST: accuracy against width, learning curves, confusion matrix,
    #    image grid (approx.plots.fmnist) ------------------------------------------------
    "fm_width": ("hidden width n (units per layer)", "anchura de la capa oculta n (unidades por capa)"),
    "fm_test_accuracy": ("test accuracy (%)", "exactitud en prueba (%)"),
    "fm_accuracy": ("accuracy (%)", "exactitud (%)"),
    "fm_loss": ("cross-entropy loss", "pérdida (entropía cruzada)"),
    "fm_epoch": ("epoch", "época"),
    "fm_train": ("training", "entrenamiento"),
    "fm_test": ("test", "prueba"),
    "fm_acc_vs_width": ("Fashion-MNIST: test accuracy against width", "Fashion-MNIST: exactitud en prueba según la anchura"),
    "fm_curves": ("Learning curves: {arch}", "Curvas de aprendizaje: {arch}"),
    "fm_loss_panel": ("loss", "pérdida"),
    "fm_accuracy_panel": ("accuracy", "exactitud"),
    "fm_confusion": ("Confusion matrix", "Matriz de confusión"),
    "fm_accuracy_is": ("test accuracy {acc}", "exactitud en prueba {acc}"),
    "fm_confusion_bar": ("% of the true class (each row sums to 100)", "% de la clase real (cada fila suma 100)"),
    "fm_confusion_note": (
        "Cells: % of the row's test images, one decimal.\nBlank: none; <{small}: some, but under {small_pct}.",
        "Celdas: % de las imágenes de prueba de la fila, con un decimal.\n"
        "En blanco: ninguna; <{small}: alguna, pero menos del {small_pct}.",
    ),
    "fm_true": ("true class", "clase real"),
    "fm_predicted": ("predicted class", "clase predicha"),
    "fm_grid": ("Test images: predicted class (true class); mistakes in red",
                "Imágenes de prueba: clase predicha (clase real); errores en rojo"),
    "fm_arch": ("784-{hidden}-10 {activation}", "784-{hidden}-10 {activation}"),
    "fm_seeds": ("median of {k} seeds, band min–max", "mediana de {k} semillas, banda mín–máx"),
    "fm_seed": ("seed {seed}", "semilla {seed}"),
    "fm_depth_1": ("1 hidden layer", "1 capa oculta"),
    "fm_depth_n": ("{d} hidden layers", "{d} capas ocultas"),
    # -- training movies (approx.plots.animate) ------------------------------------------
    "an_step": ("step {s} of {n}   ·   training loss {loss}", "paso {s} de {n}   ·   pérdida de entrenamiento {loss}"),
    "an_title": ("{target}, width {n}, seed {seed}", "{target}, anchura {n}, semilla {seed}"),
    "an_title_depth": ("{target}, depth {d}, width {n}, seed {seed}",
                       "{target}, profundidad {d}, anchura {n}, semilla {seed}"),
    "an_target": ("target function f", "función objetivo f"),
    "an_fit": ("network fit g", "ajuste de la red g"),
    "an_train": ("training points", "puntos de entrenamiento"),
    "an_units": (r"hidden units  $a_j\,\sigma(w_j x + b_j)$", r"unidades ocultas  $a_j\,\sigma(w_j x + b_j)$"),
    "an_bias": ("output bias c", "sesgo de salida c"),
    "an_x": ("x", "x"),
    "an_slice": ("x₁  (other coordinates = ½)", "x₁  (las demás coordenadas = ½)"),
    "an_value": ("value", "valor"),
    # -- the explorer page (approx.plots.explorer; the page reads these rows without
    #    their "ex_" prefix) ---------------------------------------------------------------
    "ex_title": ("Universal approximation explorer", "Explorador de la aproximación universal"),
    "ex_subtitle": ("target {target} on [0, 1]{dimsup}, activation {activation}",
                    "función objetivo {target} en [0, 1]{dimsup}, activación {activation}"),
    "ex_width": ("hidden width n", "anchura de la capa oculta n"),
    "ex_seed": ("seed", "semilla"),
    "ex_depth": ("hidden layers", "capas ocultas"),
    "ex_axis": ("slice along", "corte a lo largo de"),
    "ex_step": ("training step", "paso de entrenamiento"),
    "ex_step_of": ("{step} of {last}", "{step} de {last}"),
    "ex_units": ("hidden units", "unidades ocultas"),
    "ex_units_depth": ("hidden units: one hidden layer only", "unidades ocultas: solo con una capa oculta"),
    "ex_units_step": ("hidden units: kept for the final network only",
                      "unidades ocultas: solo se guardaron las de la red final"),
    "ex_target": ("target function f", "función objetivo f"),
    "ex_fit": ("network g", "red g"),
    "ex_train": ("training points", "puntos de entrenamiento"),
    "ex_unit_legend": ("units a_j σ(w_j x + b_j)", "unidades a_j σ(w_j x + b_j)"),
    "ex_sum": ("their sum + c: Cybenko's G = g", "su suma + c: la G de Cybenko = g"),
    "ex_bias": ("output bias c", "sesgo de salida c"),
    "ex_x": ("x", "x"),
    "ex_x_slice": ("x{axis}  (other coordinates = ½)", "x{axis}  (las demás coordenadas = ½)"),
    "ex_y": ("value", "valor"),
    "ex_heat_target": ("target function f", "función objetivo f"),
    "ex_heat_fit": ("network g", "red g"),
    "ex_heat_error": ("|f − g|", "|f − g|"),
    "ex_mse": ("test mean squared error", "error cuadrático medio de prueba"),
    "ex_sup": ("sup error  max |f − g|", "error uniforme  máx |f − g|"),
    "ex_median": ("median over {k} seeds", "mediana de {k} semillas"),
    "ex_one_seed": ("one seed", "una semilla"),
    "ex_spread": ("min–max over seeds", "mín–máx entre semillas"),
    "ex_this_run": ("this seed", "esta semilla"),
    "ex_run_line": ("width {width}, seed {seed}: test MSE {mse}, sup error {sup}",
                    "anchura {width}, semilla {seed}: ECM de prueba {mse}, error uniforme {sup}"),
    "ex_diverged": ("diverged", "divergió"),
    "ex_click": ("Click a point of an error curve to select its width.",
                 "Haga clic en un punto de una curva de error para elegir su anchura."),
    "ex_language": ("language", "idioma"),
    "ex_no_target": ("target not available here ({why})", "función objetivo no disponible aquí ({why})"),
}  # fmt: skip

# The tables by language, as text() reads them: {"en": {key: label}, "es": {...}}.
TEXT: dict[str, dict[str, str]] = {lang: {key: row[i] for key, row in _LABELS.items()} for i, lang in enumerate(LANGS)}
_NAME_TEXT = {lang: {key: row[i] for key, row in _NAMES.items()} for i, lang in enumerate(LANGS)}


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")


def text(key: str, lang: str = "en", **fmt) -> str:
    """The label ``key`` in ``lang`` (``en`` or ``es``), its ``{fields}``
    filled from ``fmt`` (numbers written by the caller with
    :func:`approx.plots.style.number`)."""
    _check_lang(lang)
    return TEXT[lang][key].format(**fmt)


def display_name(name: str, lang: str = "en") -> str:
    """A target's or an activation's name in ``lang``: ``sine`` is *seno* in
    Spanish, ``relu`` is *ReLU* in both; an unknown name is shown as given."""
    _check_lang(lang)
    return _NAME_TEXT[lang].get(name, name)


def display_names(lang: str) -> dict[str, str]:
    """Every display name in ``lang``, ``{code name: name as read}``."""
    _check_lang(lang)
    return dict(_NAME_TEXT[lang])


def strings(prefix: str, lang: str) -> dict[str, str]:
    """The labels whose key starts with ``prefix``, the prefix dropped: the
    explorer page's strings are ``strings("ex_", lang)``."""
    _check_lang(lang)
    return {key[len(prefix) :]: value for key, value in TEXT[lang].items() if key.startswith(prefix)}


def register_text(entries: Mapping[str, Mapping[str, str]]) -> None:
    """Adds labels ``{"en": {key: ...}, "es": {key: ...}}`` (the lecture and
    scenario figures keep theirs beside their code)."""
    for lang, table in entries.items():
        _check_lang(lang)
        TEXT[lang].update(table)
