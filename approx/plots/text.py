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

The scenario figures still add their own rows with :func:`register_text`;
they are read by :func:`text` as these are.
"""

from __future__ import annotations

from collections.abc import Mapping

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
        ("Celdas: % de las imágenes de prueba de la fila, con un decimal.\n"
         "En blanco: ninguna; <{small}: alguna, pero menos del {small_pct}."),
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
    # -- the lecture figures (approx.plots.lecture): lf_ rows are shared, lfN_ rows are
    #    figure N's; {target}, {activation}, {name} are display names --------------------------
    "lf_x": ("x", "x"),
    "lf_target": ("target f", "función objetivo f"),
    "lf_width_n": ("hidden width n", "anchura de la capa oculta n"),
    "lf_sup": ("sup error  max |f − g|", "error uniforme  máx |f − g|"),
    "lf_l2": ("L2 error  ‖f − g‖₂", "error L2  ‖f − g‖₂"),
    "lf_mse": ("mean squared error", "error cuadrático medio"),
    "lf_sine": ("sin(2πx) + ½ sin(6πx)", "sen(2πx) + ½ sen(6πx)"),
    "lf_l2_panel": ("L2 norm", "norma L2"),
    "lf_sup_panel": ("sup norm", "norma uniforme (sup)"),
    # figure 1
    "lf1_title": ("From {sigmoid} to step, from two steps to a bump",
                  "De la {sigmoid} al escalón, de dos escalones a un pulso"),
    "lf1_left": ("σ(w (x − s)) as w grows  (s = {s})", "σ(w (x − s)) al crecer w  (s = {s})"),
    "lf1_right": ("h [σ(w (x − s₁)) − σ(w (x − s₂))]", "h [σ(w (x − s₁)) − σ(w (x − s₂))]"),
    "lf1_step": ("step at s", "escalón en s"),
    "lf1_w": ("w = {w}", "w = {w}"),
    "lf1_h": ("height h = {h}", "altura h = {h}"),
    # figure 2 (the formula is the target's, written in each language's decimals)
    "lf2_title": (("Cybenko's construction (no training) against training:  "
                   "f(x) = 0.2 + 0.4x² + 0.3x sin 15x + 0.05 cos 50x"),
                  ("La construcción de Cybenko (sin entrenar) frente al entrenamiento:  "
                   "f(x) = 0,2 + 0,4x² + 0,3x sen 15x + 0,05 cos 50x")),
    "lf2_row_construct": ("sum of n steep\nsigmoid steps", "suma de n escalones\nsigmoides abruptos"),
    "lf2_row_trained": ("trained network\n(Adam, seed 0)", "red entrenada\n(Adam, semilla 0)"),
    "lf2_panel": ("n = {n}:  sup error {sup}", "n = {n}:  error uniforme {sup}"),
    "lf2_rate_title": ("sup error against n", "error uniforme frente a n"),
    "lf2_construct": ("construction", "construcción"),
    "lf2_trained": ("trained network (only the panels' widths)", "red entrenada (solo las anchuras de los paneles)"),
    "lf2_ref": ("slope −1", "pendiente −1"),
    "lf2_values": ("f at the cell centres", "f en los centros de celda"),
    # figure 3
    "lf3_title": ("A trained width-{n} network, unit by unit", "Una red entrenada de anchura {n}, unidad por unidad"),
    "lf3_units": (r"units  $a_j\,\sigma(w_j x + b_j)$", r"unidades  $a_j\,\sigma(w_j x + b_j)$"),
    "lf3_sum": ("their sum + c  (the network)", "su suma + c  (la red)"),
    "lf3_bias": ("output bias c", "sesgo de salida c"),
    "lf3_note": ("MSE {mse},  sup error {sup}", "ECM {mse},  error uniforme {sup}"),
    # figure 4
    "lf4_title": ("Continuity matters for the sup norm, not for L2",
                  "La continuidad importa para la norma uniforme, no para L2"),
    "lf4_smooth": ("smooth: sin(2πx) + ½ sin(6πx)", "suave: sen(2πx) + ½ sen(6πx)"),
    "lf4_kink": ("{name}: |x − ½|", "{name}: |x − ½|"),
    "lf4_step": ("{name}: 1[x ≥ ½]", "{name}: 1[x ≥ ½]"),
    "lf4_half": ("½: no continuous g does better on the step", "½: ninguna g continua lo mejora en el escalón"),
    "lf4_l2_panel": ("L2 error (Hornik: → 0 for all three)", "error L2 (Hornik: → 0 en las tres)"),
    "lf4_sup_panel": ("sup error (Cybenko needs continuity)", "error uniforme (Cybenko exige continuidad)"),
    # figure 5
    "lf5_title": ("Hornik: any bounded, non-constant activation approximates  (target {target})",
                  "Hornik: toda activación acotada y no constante aproxima  (función objetivo {target})"),
    "lf5_sin": ("{name} (initial slope ×¼)", "{name} (pendiente inicial ×¼)"),
    "lf5_relu": ("{name} (unbounded: Leshno 1993)", "{name} (no acotada: Leshno 1993)"),
    # figure 6
    "lf6_title": ("Two inputs: target, fit and error on [0, 1]²",
                  "Dos entradas: función objetivo, ajuste y error en [0, 1]²"),
    "lf6_target": ("target f(x₁, x₂)", "función objetivo\nf(x₁, x₂)"),
    "lf6_fit": ("network, n = {n}", "red, n = {n}"),
    "lf6_err": ("|f − g|,  n = {n}\nsup {sup}", "|f − g|,  n = {n}\nmáx {sup}"),
    "lf6_value": ("value", "valor"),
    "lf6_abs_err": ("|f − g|", "|f − g|"),
    "lf6_train": ("{n} training points", "{n} puntos\nde entrenamiento"),
    # figure 7
    "lf7_title": ("Depth against width on the sawtooth ({pieces} linear pieces)",
                  "Profundidad frente a anchura en el diente de sierra ({pieces} tramos lineales)"),
    "lf7_params": ("number of parameters   (beside each point: its width n)",
                   "número de parámetros   (junto a cada punto: su anchura n)"),
    "lf7_depth1": ("1 hidden layer, {activation} (shallow)", "1 capa oculta, activación {activation} (red poco profunda)"),
    "lf7_depthn": ("{d} hidden layers, {activation} (deep)", "{d} capas ocultas, activación {activation} (red profunda)"),
    "lf7_exact": ("hand-built ({activation}), depth {k}, width 2",
                  "red construida a mano ({activation}), profundidad {k}, anchura 2"),
    "lf7_exact_note": ("hand-built: exact with\n6k + 1 = {p} parameters",
                       "construida a mano: exacta con\n6k + 1 = {p} parámetros"),
    "lf7_legend_title": ("trained alike (Adam, warm-up and cosine decay, {steps} steps), median of {k} seeds",
                         "entrenadas igual (Adam, calentamiento y decaimiento coseno, {steps} pasos), mediana de {k} semillas"),
    "lf7_legend_title_1": ("trained alike (Adam, warm-up and cosine decay, {steps} steps), one seed",
                           "entrenadas igual (Adam, calentamiento y decaimiento coseno, {steps} pasos), una semilla"),
    # figure 8
    "lf8_title": (("Barron-class target ({target}): trained networks keep improving with width in every\n"
                   "dimension; random features (fixed hidden layer) fall further behind as d grows"),
                  ("Función objetivo de la clase de Barron ({target}): las redes entrenadas mejoran con la anchura en\n"
                   "todas las dimensiones; las características aleatorias (capa oculta fija) se quedan más atrás "
                   "al crecer d")),
    "lf8_trained": ("trained (all layers)", "redes entrenadas (todas las capas)"),
    "lf8_random": ("random features (output layer only)", "características aleatorias (solo la capa de salida)"),
    "lf8_barron": ("Barron's bound (2C)²/n", "cota de Barron (2C)²/n"),
    "lf8_slopes": ("slope (n ≥ 2)\ntrained {trained}\nrandom {random}",
                   "pendiente (n ≥ 2)\nentrenadas {trained}\naleatorias {random}"),
    "lf8_note": (("trained networks up to n = {n} ({steps} Adam steps each); random features, a least-squares fit "
                  "of the output layer, up to n = {m}"),
                 ("redes entrenadas hasta n = {n} ({steps} pasos de Adam cada una); características aleatorias, un "
                  "ajuste por mínimos cuadrados de la capa de salida, hasta n = {m}")),
    # figure 9
    "lf9_title": ("Fashion-MNIST: accuracy against hidden width",
                  "Fashion-MNIST: exactitud según la anchura de la capa oculta"),
    "lf9_accuracy": ("accuracy (%)", "exactitud (%)"),
    "lf9_depth1": ("1 hidden layer", "1 capa oculta"),
    "lf9_depthn": ("{d} hidden layers", "{d} capas ocultas"),
    "lf9_trained_on": ("networks trained on {n} images for {epochs} epochs, tested on {m}",
                       "redes entrenadas con {n} imágenes durante {epochs} épocas y evaluadas con {m}"),
    "lf9_trained_on_1": ("networks trained on {n} images for 1 epoch, tested on {m}",
                         "redes entrenadas con {n} imágenes durante 1 época y evaluadas con {m}"),
    "lf9_results": ("results from {path}", "resultados de {path}"),
    "lf9_test": (", test", ", prueba"),
    "lf9_train": (", training", ", entrenamiento"),
    # figure 10
    "lf10_title": ("Optimisation or approximation?  (target {target})",
                   "¿Optimización o aproximación?  (función objetivo {target})"),
    "lf10_lecun": ("usual library default (LeCun init, random readout), Adam",
                   "configuración habitual de las bibliotecas (inicialización de LeCun, salida aleatoria), Adam"),
    "lf10_adam": ("approx's default (spread init, least-squares readout), Adam",
                  "configuración de approx (inicialización repartida, salida por mínimos cuadrados), Adam"),
    "lf10_best": ("best of {k} restarts, each polished by L-BFGS in float64",
                  "el mejor de {k} reinicios, cada uno refinado con L-BFGS en float64"),
    "lf10_gap": ("the optimiser's share of the error", "parte del error debida al optimizador"),
    "lf10_legend_title": ("Adam in float32: median and min–max of {k} seeds",
                          "Adam en float32: mediana y mín–máx de {k} semillas"),
    "lf10_legend_title_1": ("Adam in float32: one seed", "Adam en float32: una semilla"),
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
    """Adds labels ``{"en": {key: ...}, "es": {key: ...}}`` (the scenario
    figures keep theirs beside their code)."""
    for lang, table in entries.items():
        _check_lang(lang)
        TEXT[lang].update(table)
