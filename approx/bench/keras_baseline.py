"""The course programs, timed side by side with Keras 3 on its JAX backend.

Each program is written once against the Keras API and run twice in the same
process: with ``approx.keras`` and with ``keras`` (Keras 3, ``KERAS_BACKEND=jax``;
``pip install 'approx[bench]'``). Programs and frameworks alternate round by
round, and every run starts cold: ``keras.backend.clear_session()`` and
``jax.clear_caches()`` drop the compiled programs first, so each fit pays its
compilation as a fresh notebook would. Timed per program: building the model,
``compile`` and ``fit`` (compilation included), and then ``evaluate`` and
``predict``.

The programs are the course's (see ``experiments/practica_fashion_mnist.ipynb``):

* ``seed``: the practical's step 3 on Fashion-MNIST: 784-128-10 sigmoid/softmax,
  ``categorical_crossentropy``, ``categorical_accuracy``, Adam, batch 128;
* ``tutorial``: ``Flatten`` -> ``Dense(128, relu)`` -> ``Dense(10)`` trained with
  ``SparseCategoricalCrossentropy(from_logits=True)``, then wrapped in
  ``Sequential([model, Softmax()])`` to predict probabilities;
* ``binary``: ``Input``, ``Dropout``, ``EarlyStopping(restore_best_weights=True)``
  and ``Precision``/``Recall``/``AUC`` objects on a synthetic binary task;
* ``regression``: ``SGD(momentum=0.9)`` on a smooth function of 8 inputs, then
  ``save`` and ``load_model``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable

import jax
import numpy as np

from approx import keras as approx_keras
from approx.bench.ceilings import dense_mlp_ceiling, matmul_epoch_seconds
from approx.bench.flops import fmnist_flops_per_example
from approx.bench.result import BenchResult, spread
from approx.data import load_fashion_mnist

__all__ = ["PROGRAMS", "bench_keras_front", "fmnist_epochs", "import_keras", "run_program"]


def import_keras():
    """Keras 3 on its JAX backend, or a clear error."""
    os.environ["KERAS_BACKEND"] = "jax"
    try:
        import keras
    except ImportError:
        raise ValueError("baseline 'keras' needs Keras 3: pip install 'approx[bench]'") from None
    if keras.backend.backend() != "jax":
        raise ValueError(f"Keras is already imported with the {keras.backend.backend()!r} backend; run in a fresh process")
    return keras


def _fashion(quick: bool):
    data = load_fashion_mnist()
    n, m = (6000, 2000) if quick else (60000, 10000)
    return data.x_train[:n], data.y_train[:n].astype(np.uint8), data.x_test[:m], data.y_test[:m].astype(np.uint8)


def _synthetic(quick: bool):
    rng = np.random.default_rng(0)
    n = 1000 if quick else 4000
    x = rng.normal(size=(n, 20)).astype("float32")
    w = rng.normal(size=20)
    y_bin = ((x @ w + 2.0 * np.sin(x[:, 0] * x[:, 1]) + rng.normal(size=n)) > 0).astype("float32")
    x_reg = rng.uniform(-1, 1, size=(n, 8)).astype("float32")
    y_reg = (np.sin(2 * x_reg[:, 0]) * x_reg[:, 1] + x_reg[:, 2] ** 2 - 0.5 * x_reg[:, 3]).astype("float32")
    return (x, y_bin), (x_reg, y_reg)


def seed_program(keras, data, epochs: int, timer):
    x_train, y_train, x_test, y_test = data
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)
    with timer("fit"):
        model = keras.Sequential()
        model.add(keras.Input(shape=(784,)))
        model.add(keras.layers.Dense(128, activation="sigmoid"))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(loss="categorical_crossentropy", metrics=["categorical_accuracy"], optimizer="adam")
        model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=0)
    with timer("evaluate"):
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {"test_accuracy": float(accuracy)}


def tutorial_program(keras, data, epochs: int, timer):
    train_images, train_labels, test_images, test_labels = data
    train_images = train_images / 255.0
    test_images = test_images / 255.0
    with timer("fit"):
        model = keras.Sequential([
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ])  # fmt: skip
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        model.fit(train_images, train_labels, epochs=epochs, verbose=0)
    with timer("evaluate"):
        _, accuracy = model.evaluate(test_images, test_labels, verbose=0)
        probability_model = keras.Sequential([model, keras.layers.Softmax()])
        predictions = probability_model.predict(test_images, verbose=0)
    return {"test_accuracy": float(accuracy), "predicted_accuracy": float(np.mean(predictions.argmax(1) == test_labels))}


def binary_program(keras, data, epochs: int, timer):
    (x, y), _ = data
    n_test = len(x) // 5
    x_train, y_train, x_test, y_test = x[n_test:], y[n_test:], x[:n_test], y[:n_test]
    with timer("fit"):
        model = keras.Sequential([
            keras.Input(shape=(20,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ])  # fmt: skip
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy",
                      metrics=["accuracy", keras.metrics.Precision(), keras.metrics.Recall(), keras.metrics.AUC()])  # fmt: skip
        stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
        history = model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_split=0.2, callbacks=[stop], verbose=0)
    with timer("evaluate"):
        result = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    return {"test_accuracy": float(result["accuracy"]), "test_auc": float(result["auc"]), "epochs": len(history.history["loss"])}


def regression_program(keras, data, epochs: int, timer):
    _, (x, y) = data
    n_test = len(x) // 5
    x_train, y_train, x_test, y_test = x[n_test:], y[n_test:], x[:n_test], y[:n_test]
    with timer("fit"):
        model = keras.Sequential([
            keras.Input(shape=(8,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(1),
        ])  # fmt: skip
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), loss="mse", metrics=["mae"])
        model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    with timer("evaluate"):
        path = os.path.join(tempfile.mkdtemp(), "regression.keras")
        model.save(path)
        loaded = keras.models.load_model(path)
        mse, mae = loaded.evaluate(x_test, y_test, verbose=0)
    return {"test_mse": float(mse), "test_mae": float(mae), "target_variance": float(np.var(y_test))}


# name -> (program, data, epochs, quick epochs)
PROGRAMS: dict[str, tuple[Callable, str, int, int]] = {
    "seed": (seed_program, "fashion", 5, 2),
    "tutorial": (tutorial_program, "fashion", 5, 2),
    "binary": (binary_program, "synthetic", 100, 20),
    "regression": (regression_program, "synthetic", 40, 10),
}


def load_program_data(quick: bool) -> dict:
    """The programs' data by source: Fashion-MNIST (a tenth when ``quick``) and the synthetic sets."""
    return {"fashion": _fashion(quick), "synthetic": _synthetic(quick)}


def run_program(name: str, keras, data: dict, quick: bool) -> dict:
    """Runs one course program cold with ``keras`` (either module); returns
    its timed phases (seconds) and results."""
    program, source, epochs, quick_epochs = PROGRAMS[name]
    keras.backend.clear_session()
    jax.clear_caches()
    keras.utils.set_random_seed(0)
    times: dict[str, float] = {}

    class timer:
        def __init__(self, phase):
            self.phase = phase

        def __enter__(self):
            self.t0 = time.perf_counter()

        def __exit__(self, *exc):
            times[self.phase] = time.perf_counter() - self.t0

    result = program(keras, data[source], quick_epochs if quick else epochs, timer)
    return {"seconds": times, **result}


def fmnist_epochs(keras, data, epochs: int = 4) -> list[float]:
    """Seconds of each epoch of the seed program's network (784-128-10,
    batch 128, Adam) with ``keras``, measured by a callback between epochs
    (the first includes compilation)."""
    x_train, y_train, _, _ = data
    x = x_train.reshape(len(x_train), 784).astype("float32") / 255
    y = keras.utils.to_categorical(y_train, 10)
    keras.backend.clear_session()
    jax.clear_caches()
    keras.utils.set_random_seed(0)
    seconds: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.t0)

    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="sigmoid"),
                              keras.layers.Dense(10, activation="softmax")])  # fmt: skip
    model.compile(loss="categorical_crossentropy", metrics=["categorical_accuracy"], optimizer="adam")
    model.fit(x, y, batch_size=128, epochs=epochs, verbose=0, callbacks=[Clock()])
    return seconds


def _time_programs(frameworks: list, data: dict, rounds: int, quick: bool, report: Callable[[str], None]) -> dict:
    """Every course program with every framework, ``rounds`` times (the
    order of the frameworks alternating): ``{program: {label: [results]}}``."""
    runs: dict[str, dict[str, list[dict]]] = {name: {label: [] for label, _ in frameworks} for name in PROGRAMS}
    for r in range(rounds):
        order = frameworks if r % 2 == 0 else frameworks[::-1]
        for name in PROGRAMS:
            for label, module in order:
                result = run_program(name, module, data, quick)
                runs[name][label].append(result)
                report(f"keras: round {r + 1}, {name} with {label}: fit {result['seconds']['fit']:.2f} s, "
                       f"evaluate {result['seconds']['evaluate']:.2f} s")  # fmt: skip
    return runs


def _time_epochs(frameworks: list, data, rounds: int, quick: bool, report: Callable[[str], None]):
    """The 784-128-10 epochs of each framework per round, and the epoch's
    matrix-product floor measured right after approx's (the machine's speed
    drifts): ``({label: [[epoch_s]]}, [floor_s])``."""
    n = len(data[0])
    epochs = {label: [] for label, _ in frameworks}
    floors = []
    for r in range(rounds):
        for label, module in frameworks if r % 2 == 0 else frameworks[::-1]:
            epochs[label].append(fmnist_epochs(module, data, epochs=3 if quick else 4))
            report(f"keras: round {r + 1}, 784-128-10 epochs with {label}: {', '.join(f'{s:.3f}' for s in epochs[label][-1])} s")
            if label == "approx":
                floors.append(matmul_epoch_seconds(n, 128, 784, 128, 10, repeats=2 if quick else 3))
                report(f"keras: round {r + 1}, the epoch's matrix products alone: {floors[-1]:.3f} s")
    return epochs, floors


def _program_summary(runs: dict) -> dict:
    """Per program and framework: the best fit and evaluation over rounds and
    the last round's results; the speedup when Keras ran too."""
    programs = {}
    for name, by in runs.items():
        entry = {}
        for label, results in by.items():
            fits = [res["seconds"]["fit"] for res in results]
            entry[label] = {
                "fit_s": min(fits), "fit_s_range": spread(fits),
                "evaluate_s": min(res["seconds"]["evaluate"] for res in results),
                "results": {k: v for k, v in results[-1].items() if k != "seconds"},
            }  # fmt: skip
        if "keras" in entry:
            entry["speedup"] = entry["keras"]["fit_s"] / entry["approx"]["fit_s"]
        programs[name] = entry
    return programs


def _keras_figures(real, epochs: dict, steady: list[float], programs: dict) -> dict:
    """Keras 3's epoch and fits, and approx's speedups over them."""
    k_steady = [s for run in epochs["keras"] for s in run[1:]]
    total = {label: sum(programs[name][label]["fit_s"] for name in programs) for label in ("approx", "keras")}
    return {
        "keras_version": real.__version__,
        "keras_epoch_s": min(k_steady),
        "keras_epoch_s_range": spread(k_steady),
        "keras_first_epoch_s": min(run[0] for run in epochs["keras"]),
        "epoch_speedup": min(k_steady) / min(steady),
        "fits_total_s": total,
        "fits_speedup": total["keras"] / total["approx"],
    }


def bench_keras_front(quick: bool = False, baseline: str | None = None, report: Callable[[str], None] = print):
    """The ``keras`` workload: the course programs and a Fashion-MNIST epoch
    with ``approx.keras``, and side by side with Keras 3 when ``baseline`` is
    ``"keras"`` (rounds alternate which framework goes first).

    Figures: each program's build + compile + fit (compilation included) and
    its evaluation, best over rounds; the 784-128-10 epoch after compilation
    (best epoch) against two floors measured in the same process: the
    epoch's matrix products alone at the same batch size
    (:func:`approx.bench.ceilings.matmul_epoch_seconds`; the result's ceiling), and
    the same arithmetic as one large fused forward+backward
    (:func:`approx.bench.ceilings.dense_mlp_ceiling`), which small batches cannot reach.
    """
    real = import_keras() if baseline == "keras" else None
    jax.block_until_ready(jax.jit(lambda v: v + 1)(1.0))  # the first compilation of a process costs more
    rounds = 1 if quick else 3
    data = load_program_data(quick)
    frameworks = [("approx", approx_keras)] + ([("keras", real)] if real is not None else [])
    programs = _program_summary(_time_programs(frameworks, data, rounds, quick, report))
    n = len(data["fashion"][0])
    flops = fmnist_flops_per_example(784, 128, 10) * n
    epochs, floors = _time_epochs(frameworks, data["fashion"], rounds, quick, report)
    ratios = [min(run[1:]) / floor for run, floor in zip(epochs["approx"], floors)]
    fused = dense_mlp_ceiling(784, 128, 10, batch=2048 if quick else 8192, repeats=3 if quick else 10)
    steady = [s for run in epochs["approx"] for s in run[1:]]
    extra = {
        "rounds": rounds,
        "programs": programs,
        "epoch_s": min(steady),
        "epoch_s_range": spread(steady),
        "first_epoch_s": min(run[0] for run in epochs["approx"]),
        "matmul_epoch_s": min(floors),
        "matmul_epoch_s_range": spread(floors),
        "epoch_over_matmul": min(ratios),
        "epoch_over_matmul_range": spread(ratios),
        "fused_ceiling_gflops": fused,
        "fused_epoch_s": flops / (fused * 1e9),
    }
    if real is not None:
        extra.update(_keras_figures(real, epochs, steady, programs))
    return BenchResult(
        "keras",
        compile_s=extra["first_epoch_s"] - extra["epoch_s"],
        run_s=extra["epoch_s"],
        steps=-(-n // 128),
        samples=n,
        flops=flops,
        ceiling_gflops=flops / extra["matmul_epoch_s"] / 1e9,
        wall_s=sum(programs[name]["approx"]["fit_s"] for name in programs),
        extra=extra,
    )
