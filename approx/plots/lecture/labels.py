"""Every title, label and legend of the lecture figures, in English and Spanish.

Keys start with ``lf`` (lecture figure) and the figure's number; ``lf_`` keys
are shared. :func:`approx.plots.style.text` looks them up; importing this
module registers them.
"""

from __future__ import annotations

from approx.plots.style import register_text

__all__: list[str] = []

register_text(
    {
        "en": {
            "lf_x": "x",
            "lf_target": "target f",
            "lf_width_n": "hidden width n",
            "lf_sup": "sup error  max |f − g|",
            "lf_l2": "L2 error  ‖f − g‖₂",
            "lf_mse": "mean squared error",
            "lf_sine": "sin(2πx) + ½ sin(6πx)",
            "lf_l2_panel": "L2 norm",
            "lf_sup_panel": "sup norm",
            # 1
            "lf1_title": "From sigmoid to step, from two steps to a bump",
            "lf1_left": "σ(w (x − s)) as w grows  (s = {s})",
            "lf1_right": "h [σ(w (x − s₁)) − σ(w (x − s₂))]",
            "lf1_step": "step at s",
            "lf1_w": "w = {w}",
            "lf1_h": "height h = {h}",
            # 2
            "lf2_title": (
                "Cybenko's construction (no training) against training:  "
                "f(x) = 0.2 + 0.4x² + 0.3x sin 15x + 0.05 cos 50x"
            ),
            "lf2_row_construct": "sum of n steep\nsigmoid steps",
            "lf2_row_trained": "trained network\n(Adam, seed 0)",
            "lf2_panel": "n = {n}:  sup error {sup:.3f}",
            "lf2_rate_title": "sup error against n",
            "lf2_construct": "construction",
            "lf2_trained": "trained",
            "lf2_ref": "slope −1",
            "lf2_values": "cell centres",
            # 3
            "lf3_title": "A trained width-{n} network, unit by unit",
            "lf3_units": r"units  $a_j\,\sigma(w_j x + b_j)$",
            "lf3_sum": "their sum + c  (the network)",
            "lf3_bias": "output bias c",
            "lf3_note": "MSE {mse:.1e},  sup error {sup:.2f}",
            # 4
            "lf4_title": "Continuity matters for the sup norm, not for L2",
            "lf4_smooth": "smooth: sin(2πx) + ½ sin(6πx)",
            "lf4_kink": "kink: |x − ½|",
            "lf4_step": "step: 1[x ≥ ½]",
            "lf4_half": "½: no continuous g does better on the step",
            "lf4_l2_panel": "L2 error (Hornik: → 0 for all three)",
            "lf4_sup_panel": "sup error (Cybenko needs continuity)",
            # 5
            "lf5_title": "Hornik: any bounded, non-constant activation approximates  (target {target})",
            "lf5_sigmoid": "sigmoid",
            "lf5_cos": "cosine squasher",
            "lf5_sin": "sin (init slope ×¼)",
            "lf5_relu": "relu (unbounded: Leshno 1993)",
            # 6
            "lf6_title": "Two inputs: target, fit and error on [0, 1]²",
            "lf6_target": "target f(x₁, x₂)",
            "lf6_fit": "network, n = {n}",
            "lf6_err": "|f − g|,  n = {n}\nsup {sup:.2g}",
            "lf6_value": "value",
            "lf6_abs_err": "|f − g|",
            "lf6_train": "{n} training points",
            # 7
            "lf7_title": "Depth against width on the sawtooth ({pieces} linear pieces)",
            "lf7_params": "number of parameters   (at each point: its width n)",
            "lf7_depth1": "1 hidden layer (shallow, wide)",
            "lf7_depthn": "{d} hidden layers (deep, narrow)",
            "lf7_exact": "hand-built: ReLU, depth {k}, width 2 ({p} parameters)",
            "lf7_exact_note": "exact: depth pays off in principle,\nyet training finds no such solution",
            "lf7_legend_title": "trained sigmoid networks, median of {k} seeds",
            # 8
            "lf8_title": "Barron class (target ridge): trained networks keep improving with width in every dimension;\n"
            "random features (fixed hidden layer) fall further behind as d grows",
            "lf8_trained": "trained (all layers)",
            "lf8_random": "random features (output layer only)",
            "lf8_barron": "Barron's bound (2C)²/n",
            "lf8_slopes": "slope (n ≥ 2)\ntrained {trained:.2f}\nrandom {random:.2f}",
            # 9
            "lf9_title": "Fashion-MNIST: accuracy against hidden width",
            "lf9_accuracy": "accuracy (%)",
            "lf9_depth1": "1 hidden layer",
            "lf9_depthn": "{d} hidden layers",
            "lf9_builtin": "short built-in sweep: {n} training images, {epochs} epoch(s)",
            "lf9_results": "results from {path}",
            "lf9_test": ", test",
            "lf9_train": ", training",
            # 10
            "lf10_title": "Optimisation or approximation?  (target {target})",
            "lf10_lecun": "frameworks' default (LeCun init, random readout), Adam",
            "lf10_adam": "approx's default (spread init, least-squares readout), Adam",
            "lf10_best": "best of {k} restarts, each polished by L-BFGS in float64",
            "lf10_gap": "what the optimiser leaves",
            "lf10_legend_title": "Adam in float32: median and min–max of {k} seeds",
        },
        "es": {
            "lf_x": "x",
            "lf_target": "función objetivo f",
            "lf_width_n": "anchura oculta n",
            "lf_sup": "error uniforme  máx |f − g|",
            "lf_l2": "error L2  ‖f − g‖₂",
            "lf_mse": "error cuadrático medio",
            "lf_sine": "sen(2πx) + ½ sen(6πx)",
            "lf_l2_panel": "norma L2",
            "lf_sup_panel": "norma uniforme (sup)",
            "lf1_title": "De la sigmoide al escalón, de dos escalones a un pulso",
            "lf1_left": "σ(w (x − s)) al crecer w  (s = {s})",
            "lf1_right": "h [σ(w (x − s₁)) − σ(w (x − s₂))]",
            "lf1_step": "escalón en s",
            "lf1_w": "w = {w}",
            "lf1_h": "altura h = {h}",
            "lf2_title": (
                "La construcción de Cybenko (sin entrenar) frente al entrenamiento:  "
                "f(x) = 0.2 + 0.4x² + 0.3x sen 15x + 0.05 cos 50x"
            ),
            "lf2_row_construct": "suma de n escalones\nsigmoides abruptos",
            "lf2_row_trained": "red entrenada\n(Adam, semilla 0)",
            "lf2_panel": "n = {n}:  error uniforme {sup:.3f}",
            "lf2_rate_title": "error uniforme frente a n",
            "lf2_construct": "construcción",
            "lf2_trained": "entrenada",
            "lf2_ref": "pendiente −1",
            "lf2_values": "centros de celda",
            "lf3_title": "Una red entrenada de anchura {n}, unidad por unidad",
            "lf3_units": r"unidades  $a_j\,\sigma(w_j x + b_j)$",
            "lf3_sum": "su suma + c  (la red)",
            "lf3_bias": "sesgo de salida c",
            "lf3_note": "ECM {mse:.1e},  error uniforme {sup:.2f}",
            "lf4_title": "La continuidad importa para la norma uniforme, no para L2",
            "lf4_smooth": "suave: sen(2πx) + ½ sen(6πx)",
            "lf4_kink": "pico: |x − ½|",
            "lf4_step": "escalón: 1[x ≥ ½]",
            "lf4_half": "½: ninguna g continua mejora en el escalón",
            "lf4_l2_panel": "error L2 (Hornik: → 0 en los tres)",
            "lf4_sup_panel": "error uniforme (Cybenko exige continuidad)",
            "lf5_title": "Hornik: toda activación acotada y no constante aproxima  (función objetivo {target})",
            "lf5_sigmoid": "sigmoide",
            "lf5_cos": "aplastador coseno",
            "lf5_sin": "sen (pendiente inicial ×¼)",
            "lf5_relu": "relu (no acotada: Leshno 1993)",
            "lf6_title": "Dos entradas: función objetivo, ajuste y error en [0, 1]²",
            "lf6_target": "función objetivo f(x₁, x₂)",
            "lf6_fit": "red, n = {n}",
            "lf6_err": "|f − g|,  n = {n}\nmáx {sup:.2g}",
            "lf6_value": "valor",
            "lf6_abs_err": "|f − g|",
            "lf6_train": "{n} puntos de entrenamiento",
            "lf7_title": "Profundidad frente a anchura en el diente de sierra ({pieces} tramos lineales)",
            "lf7_params": "número de parámetros   (junto a cada punto: su anchura n)",
            "lf7_depth1": "1 capa oculta (poco profunda, ancha)",
            "lf7_depthn": "{d} capas ocultas (profunda, estrecha)",
            "lf7_exact": "construida a mano: ReLU, profundidad {k}, anchura 2 ({p} parámetros)",
            "lf7_exact_note": (
                "exacta: en principio la profundidad sale a cuenta,\npero el entrenamiento no halla algo así"
            ),
            "lf7_legend_title": "redes sigmoides entrenadas, mediana de {k} semillas",
            "lf8_title": (
                "Clase de Barron (función objetivo ridge): las redes entrenadas mejoran con la anchura en toda\n"
                "dimensión; los rasgos aleatorios (capa oculta fija) se quedan más atrás al crecer d"
            ),
            "lf8_trained": "red entrenada (todas las capas)",
            "lf8_random": "rasgos aleatorios (solo la capa de salida)",
            "lf8_barron": "cota de Barron (2C)²/n",
            "lf8_slopes": "pendiente (n ≥ 2)\nentrenada {trained:.2f}\naleatorios {random:.2f}",
            "lf9_title": "Fashion-MNIST: exactitud frente a la anchura oculta",
            "lf9_accuracy": "exactitud (%)",
            "lf9_depth1": "1 capa oculta",
            "lf9_depthn": "{d} capas ocultas",
            "lf9_builtin": "barrido breve incorporado: {n} imágenes de entrenamiento, {epochs} época(s)",
            "lf9_results": "resultados de {path}",
            "lf9_test": ", prueba",
            "lf9_train": ", entrenamiento",
            "lf10_title": "¿Optimización o aproximación?  (función objetivo {target})",
            "lf10_lecun": "por defecto en los frameworks (inic. LeCun, salida aleatoria), Adam",
            "lf10_adam": "por defecto en approx (inic. repartida, salida por mínimos cuadrados), Adam",
            "lf10_best": "la mejor de {k} reinicios, cada uno pulido con L-BFGS en float64",
            "lf10_gap": "lo que deja el optimizador",
            "lf10_legend_title": "Adam en float32: mediana y mín–máx de {k} semillas",
        },
    }
)
