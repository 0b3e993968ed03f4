"""The explorer page (approx.plots.explorer, ``approx explore``).

Quick tests parse the page's embedded data back in Python and compare it
with the saved networks evaluated in NumPy, the target written here in NumPy,
the training points of :func:`approx.experiments.sweep.make_data` and the error curves
from pandas. The browser tests (``-m slow``) open the page in headless
Chromium with the network off and check what it draws.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import approx
from approx.cli.app import main
from approx.config import SweepConfig
from approx.plots.explorer import ExplorerError, explorer_data, page_strings, write_explorer
from approx.plots.style import number
from approx.results import (
    NETWORK_ACTIVATIONS,
    SWEEP_COLUMNS,
    Network,
    append_rows,
    atomic_write,
    load_frame,
    load_network,
    network_path,
    new_manifest,
    saved_networks,
    write_network,
)
from approx.snapshots import Snapshots, plot_points, snapshots_of

TINY = SweepConfig(widths=(1, 2, 4), seeds=2, steps=20, train_points=64, test_points=256, bucket_ratio=4.0)


# -- reading the page back, sweeps written by hand ------------------------------------------
def page_data(path: Path) -> dict:
    """The JSON the page embeds, read back from the HTML."""
    html = Path(path).read_text(encoding="utf-8")
    m = re.search(r'<script id="explorer-data" type="application/json">(.*?)</script>', html, re.S)
    assert m, "no embedded data"
    return json.loads(m.group(1))


def f32(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4").astype(np.float64)


def f64(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f8")


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sine(x):  # the `sine` target in d dimensions, written out (README, Targets)
    s = np.sin(2 * np.pi * x) + 0.5 * np.sin(6 * np.pi * x)
    return s.sum(axis=1) / np.sqrt(x.shape[1])


def fake_sweep(out: Path, *, dim: int, widths, seeds: int, depths=(1,), snapshots: int = 0, seed: int = 0) -> Path:
    """A sweep's run directory written without training: random sigmoid
    networks (optionally with ``snapshots + 1`` fits, the k-th one
    ``k / snapshots`` times the final network, computed in NumPy), rows with
    made-up errors. What the explorer reads, through approx.results' writers."""
    rng = np.random.default_rng(seed)
    config = SweepConfig(dim=dim, widths=tuple(widths), depths=tuple(depths), seeds=seeds, steps=400, train_points=128)
    out.mkdir(parents=True)
    atomic_write(out / "manifest.json", json.dumps(new_manifest("sweep", config.to_dict())).encode())
    x = plot_points(dim)
    rows = []
    for depth in depths:
        for width in widths:
            for s in range(seeds):
                sizes = [dim] + [width] * depth + [1]
                kernels = tuple(rng.normal(size=(a, b)).astype(np.float32) * 3 for a, b in zip(sizes, sizes[1:]))
                biases = tuple(rng.normal(size=b).astype(np.float32) for b in sizes[1:])
                net = Network(kernels, biases, "sigmoid", {"depth": depth, "width": width, "seed": s})
                if snapshots:
                    steps = np.linspace(0, config.steps, snapshots + 1).astype(np.int64)
                    fit = np.outer(steps / config.steps, net(x))
                    net = dataclasses.replace(net, extras=Snapshots(steps, x, fit).arrays())
                write_network(network_path(out, depth, width, s), net)
                mse = float(rng.uniform(1e-4, 1e-1)) / width
                rows.append({c: "" for c in SWEEP_COLUMNS} | {
                    "target": "sine", "dim": dim, "depth": depth, "width": width, "activation": "sigmoid", "seed": s,
                    "test_mse": mse, "test_sup": 10 * mse ** 0.5, "diverged": False,
                })  # fmt: skip
    (out / "results.csv").write_text(",".join(SWEEP_COLUMNS) + "\n")
    append_rows(out / "results.csv", SWEEP_COLUMNS, rows)
    return out


@pytest.fixture(scope="module")
def sweep_1d(tmp_path_factory) -> Path:
    """A real (tiny) sweep: 3 widths x 2 seeds, 20 steps."""
    out = tmp_path_factory.mktemp("explore") / "sweep"
    approx.run_sweep(TINY, out)
    return out


@pytest.fixture(scope="module")
def page_1d(sweep_1d, tmp_path_factory) -> Path:
    return write_explorer(sweep_1d, tmp_path_factory.mktemp("page") / "explorer.html")


def runs_of(data: dict) -> dict:
    return {(r["depth"], r["width"], r["seed"]): r for r in data["runs"]}


# -- the embedded data ------------------------------------------------------------------
def test_fits_and_units_are_the_saved_networks(sweep_1d, page_1d):
    data = page_data(page_1d)
    x = plot_points(1)
    np.testing.assert_array_equal(f32(data["x"]).reshape(-1, 1), x.astype(np.float32))
    runs = runs_of(data)
    assert sorted(runs) == saved_networks(sweep_1d)
    for (depth, width, seed), run in runs.items():
        net = load_network(sweep_1d, width, seed, depth)
        np.testing.assert_allclose(f32(run["fit"]), net(x), rtol=1e-6, atol=1e-7)
        w, b, a = (f64(run["units"][k]) for k in ("w", "b", "a"))
        assert w.shape == b.shape == a.shape == (width,)
        units = a[:, None] * sigmoid(w[:, None] * x[None, :, 0] + b[:, None])  # Cybenko's G term by term
        np.testing.assert_allclose(units.sum(axis=0) + run["units"]["c"], net(x), rtol=1e-9, atol=1e-9)
        # The sweep keeps snapshots by default: embedded as saved, the last one the final fit.
        snaps = snapshots_of(net)
        assert run["snapshots"]["steps"] == snaps.steps.tolist() and snaps.steps[-1] == TINY.steps
        fits = f32(run["snapshots"]["fit"]).reshape(len(snaps.steps), -1)
        np.testing.assert_array_equal(fits, snaps.fit.astype(np.float32))
        np.testing.assert_allclose(fits[-1], net(x), rtol=1e-5, atol=2e-5)  # float32 forward pass on device
        # ... and the hidden units at every snapshot, whose sum (Cybenko's G) is that snapshot's fit
        rows = f32(run["snapshots"]["params"]).reshape(len(snaps.steps), 3 * width + 1)
        np.testing.assert_array_equal(rows, snaps.params.astype(np.float32))
        for k, row in enumerate(rows.astype(np.float64)):
            w, b, a, c = row[:width], row[width : 2 * width], row[2 * width : 3 * width], row[3 * width]
            g = (a[:, None] * sigmoid(w[:, None] * x[None, :, 0] + b[:, None])).sum(axis=0) + c
            np.testing.assert_allclose(g, snaps.fit[k], rtol=1e-4, atol=1e-4 * max(1.0, np.abs(a).sum()))


def test_target_and_training_points(sweep_1d, page_1d):
    from approx.experiments.sweep import make_data
    from approx.targets import make_target

    data = page_data(page_1d)
    x = plot_points(1)
    np.testing.assert_allclose(f32(data["target"]), sine(x), rtol=1e-5, atol=1e-6)
    swept = make_data(TINY, make_target(TINY.target, TINY.dim))  # the points the networks were trained on
    np.testing.assert_array_equal(f32(data["train"]["x"]), np.asarray(swept.x_train)[:, 0])
    np.testing.assert_allclose(f32(data["train"]["y"]), np.asarray(swept.y_train)[:, 0], rtol=1e-6, atol=1e-6)
    assert data["sweep"]["widths"] == [1, 2, 4] and data["sweep"]["seeds"] == [0, 1] and data["sweep"]["depths"] == [1]


def test_error_curves_are_the_rows(sweep_1d, page_1d):
    curves = page_data(page_1d)["curves"]["1"]
    frame = load_frame(sweep_1d)
    for name, column in (("mse", "test_mse"), ("sup", "test_sup")):
        grouped = frame.groupby("width")[column]
        assert curves["widths"] == list(grouped.median().index)
        np.testing.assert_allclose(curves[name]["median"], grouped.median().to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(curves[name]["min"], grouped.min().to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(curves[name]["max"], grouped.max().to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("dim", [2, 3])
def test_higher_dimensions(tmp_path, dim):
    run_dir = fake_sweep(tmp_path / "sweep", dim=dim, widths=(2, 8), seeds=2, depths=(1, 2))
    data = explorer_data(run_dir)
    x = plot_points(dim)
    assert f32(data["x"]).reshape(-1, dim).shape == x.shape
    np.testing.assert_allclose(f32(data["target"]), sine(x), rtol=1e-5, atol=1e-6)
    assert data["train"] is None  # training points are drawn for d = 1 only
    assert sorted(data["curves"]) == ["1", "2"]
    for (depth, width, seed), run in runs_of(data).items():
        net = load_network(run_dir, width, seed, depth)
        np.testing.assert_allclose(f32(run["fit"]), net(x), rtol=1e-6, atol=1e-6)
        assert "units" not in run  # hidden units are drawn for d = 1 only


def test_a_diverged_run_is_drawn_as_gaps_and_left_out_of_the_curves(tmp_path):
    run_dir = fake_sweep(tmp_path / "sweep", dim=1, widths=(2, 4), seeds=2)
    net = load_network(run_dir, 4, 1)
    broken = dataclasses.replace(net, kernels=(net.kernels[0], np.full_like(net.kernels[1], np.nan)))
    write_network(network_path(run_dir, 1, 4, 1), broken)
    text = (run_dir / "results.csv").read_text().splitlines()
    rows = [line.split(",") for line in text]
    column = {c: i for i, c in enumerate(rows[0])}
    for row in rows[1:]:
        if row[column["width"]] == "4" and row[column["seed"]] == "1":
            row[column["diverged"]], row[column["test_mse"]] = "true", "nan"
    (run_dir / "results.csv").write_text("\n".join(",".join(r) for r in rows) + "\n")
    data = explorer_data(run_dir)
    run = runs_of(data)[(1, 4, 1)]
    assert run["diverged"] and run["test_mse"] is None and "units" not in run
    assert np.isnan(f32(run["fit"])).all()
    curves = data["curves"]["1"]
    assert curves["seeds"] == [2, 1]  # only seed 0 is left at width 4
    row = next(r for r in load_frame(run_dir).itertuples() if r.width == 4 and r.seed == 0)
    assert curves["mse"]["median"][1] == curves["mse"]["min"][1] == curves["mse"]["max"][1] == float(row.test_mse)


def test_snapshots_are_embedded(tmp_path):
    run_dir = fake_sweep(tmp_path / "sweep", dim=1, widths=(4,), seeds=1, snapshots=8)
    run = explorer_data(run_dir)["runs"][0]
    net = load_network(run_dir, 4, 0)
    steps = np.linspace(0, 400, 9).astype(int)
    assert run["snapshots"]["steps"] == steps.tolist()
    expected = np.outer(steps / 400, net(plot_points(1)))  # the fits fake_sweep kept, recomputed
    np.testing.assert_allclose(f32(run["snapshots"]["fit"]).reshape(9, -1), expected, rtol=1e-6, atol=1e-7)


def test_snapshots_on_other_points_are_refused(tmp_path):
    run_dir = fake_sweep(tmp_path / "sweep", dim=1, widths=(2,), seeds=1)
    path = network_path(run_dir, 1, 2, 0)
    net = load_network(run_dir, 2, 0)
    x = np.linspace(0, 1, 11)[:, None]
    snaps = Snapshots(np.array([0, 400]), x, np.zeros((2, 11)))
    write_network(path, dataclasses.replace(net, extras=snaps.arrays()))
    with pytest.raises(ExplorerError, match=r"plot_points\(1\)"):
        explorer_data(run_dir)


def test_size_and_time_of_the_default_sweep(tmp_path):
    """The default sweep's shape (9 widths x 4 seeds, d = 1) with 41 snapshots
    of 257 points each: the page stays under 5 MB and is written in seconds."""
    run_dir = fake_sweep(tmp_path / "sweep", dim=1, widths=[2**k for k in range(9)], seeds=4, snapshots=40)
    start = time.perf_counter()
    path = write_explorer(run_dir)
    seconds = time.perf_counter() - start
    size = path.stat().st_size
    print(f"explorer of the default sweep with snapshots: {size / 1e6:.2f} MB in {seconds:.2f} s")
    # 36 runs x 41 x 257 float32 fits in base64 are 2.0 MB of it.
    assert 2.0e6 < size < 5e6
    assert seconds < 10


# -- the page -----------------------------------------------------------------------
def test_page_is_self_contained(page_1d):
    html = page_1d.read_text(encoding="utf-8")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and csp.group(1).startswith("default-src 'none'")
    assert not re.search(r"<(script|img|iframe)[^>]*\bsrc=|<link\b|@import|url\(\s*['\"]?https?:", html, re.I)
    assert html.count("<script") == 3  # data, uPlot, explorer; all inline


def test_both_languages(page_1d):
    """The page embeds the explorer's rows of approx.plots.text, both languages."""
    strings = page_data(page_1d)["strings"]
    assert strings == page_strings() and set(strings) == {"en", "es"}
    assert strings["en"].keys() == strings["es"].keys()
    assert strings["es"]["sup"] == "error uniforme  máx |f − g|" and strings["en"]["width"] == "hidden width n"
    html = page_1d.read_text(encoding="utf-8")
    for phrase in (
        "anchura de la capa oculta", "función objetivo", "error cuadrático medio", "error uniforme", "semilla",
        "paso de entrenamiento", "hidden width", "target function", "training step",
    ):  # fmt: skip
        assert phrase in html, phrase
    assert page_data(page_1d)["lang"] == "en"


# -- the command ------------------------------------------------------------------------
def test_cli_writes_the_page(sweep_1d, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["explore", str(sweep_1d), "--out", str(out), "--lang", "es"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert page_data(out)["lang"] == "es" and '<html lang="es">' in out.read_text(encoding="utf-8")


def _manifest(folder: Path, kind: str) -> Path:
    folder.mkdir()
    atomic_write(folder / "manifest.json", json.dumps(new_manifest(kind, {"widths": [1]})).encode())
    return folder


def _no_params(folder: Path, sweep_1d: Path) -> Path:
    shutil.copytree(sweep_1d, folder)
    shutil.rmtree(folder / "networks")
    return folder


@pytest.mark.parametrize(
    "case, args, message",
    [
        ("missing", lambda t, s: [str(t / "nope")], r"no such run directory '.*nope'"),
        ("empty", lambda t, s: [str(t)], r"is not a run directory \(no manifest.json\)"),
        ("fmnist", lambda t, s: [str(_manifest(t / "f", "fmnist"))], r"holds a 'fmnist' run; approx explore reads"),
        ("scenario", lambda t, s: [str(_manifest(t / "b", "binary"))], r"holds a 'binary' run"),
        ("no rows", lambda t, s: [str(_manifest(t / "n", "sweep"))], r"holds no finished runs"),
        ("no networks", lambda t, s: [str(_no_params(t / "p", s))], r"holds no saved networks .*--no-params"),
        ("lang", lambda t, s: [str(s), "--lang", "fr"], r"invalid choice: 'fr' \(choose from 'en', 'es'\)"),
        ("out dir", lambda t, s: [str(s), "--out", str(t / "no" / "x.html")], r"no such directory '.*no'"),
        ("out is dir", lambda t, s: [str(s), "--out", str(t)], r"is a directory"),
    ],
)  # fmt: skip
def test_cli_bad_input(case, args, message, sweep_1d, tmp_path, capsys):
    assert main(["explore", *args(tmp_path, sweep_1d)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert re.search(message, err), err


def test_library_refuses_bad_lang(sweep_1d):
    with pytest.raises(ExplorerError, match=r"unknown lang 'de'; valid: en, es"):
        write_explorer(sweep_1d, lang="de")


# -- in a real browser -----------------------------------------------------------------------
def _browser():
    """Headless Chromium through Selenium, or a skip naming what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000"):
        options.add_argument(arg)
    options.add_argument("--force-device-scale-factor=1")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
    return driver


@pytest.fixture(scope="module")
def browser():
    driver = _browser()
    yield driver
    driver.quit()


def _open(driver, page: Path, fragment: str = ""):
    driver.get(page.resolve().as_uri() + fragment)
    driver.refresh()  # a fragment-only change of URL would not reload the page
    assert driver.execute_script("return !!window.explorer"), driver.get_log("browser")
    return driver


def _fit(driver):
    return driver.execute_script("return window.explorer.currentFit()")


def _no_errors_or_requests(driver):
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def _shot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def _page_number(value: float, lang: str) -> str:
    """What the page's format(value) should show: three significant digits by
    approx.plots.style.number, and a power of ten outside [1e-3, 1e4)."""
    if 1e-3 <= abs(value) < 1e4:
        return number(float(f"{value:.3g}"), lang, "g")
    exponent = math.floor(math.log10(abs(value)))
    mantissa = number(float(f"{value / 10**exponent:.1f}"), lang, "g")
    return f"{mantissa} × 10" + str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


@pytest.mark.slow
def test_browser_sliders_units_and_fragment(browser, sweep_1d, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    # The tiny sweep with snapshots added: fit k is k/8 of the final fit plus (1 - k/8) x^2.
    run_dir = shutil.copytree(sweep_1d, tmp_path / "sweep")
    x = plot_points(1)
    steps = np.linspace(0, TINY.steps, 9).astype(np.int64)
    for depth, width, seed in saved_networks(run_dir):
        net = load_network(run_dir, width, seed, depth)
        fit = np.outer(steps / TINY.steps, net(x)) + np.outer(1 - steps / TINY.steps, x[:, 0] ** 2)
        with_snapshots = dataclasses.replace(net, extras=Snapshots(steps, x, fit).arrays())
        write_network(network_path(run_dir, depth, width, seed), with_snapshots)
    page = write_explorer(run_dir)
    driver = _open(browser, page, "#w=1&s=1")
    assert driver.execute_script("return window.explorer.state()")["width"] == 1

    driver.find_element(By.ID, "width").send_keys(Keys.RIGHT)  # width 1 -> 2
    state = driver.execute_script("return window.explorer.state()")
    assert (state["width"], state["seed"], state["step"]) == (2, 1, TINY.steps)
    net = load_network(run_dir, 2, 1)
    fit = _fit(driver)
    np.testing.assert_allclose(fit["x"], x[:, 0], rtol=1e-6)
    np.testing.assert_allclose(fit["y"], net(x), rtol=1e-5, atol=1e-6)
    assert "w=2" in driver.execute_script("return location.hash")

    step = driver.find_element(By.ID, "step")
    step.send_keys(Keys.HOME)  # step 0
    assert driver.execute_script("return window.explorer.state()")["step"] == 0
    np.testing.assert_allclose(_fit(driver)["y"], x[:, 0] ** 2, rtol=1e-5, atol=1e-6)
    step.send_keys(Keys.RIGHT, Keys.RIGHT, Keys.RIGHT)  # step 3 of 8
    k = 3
    assert driver.execute_script("return window.explorer.state()")["step"] == steps[k]
    expected = steps[k] / TINY.steps * net(x) + (1 - steps[k] / TINY.steps) * x[:, 0] ** 2
    np.testing.assert_allclose(_fit(driver)["y"], expected, rtol=1e-5, atol=1e-6)
    assert f"step={steps[k]}" in driver.execute_script("return location.hash")
    step.send_keys(Keys.END)

    driver.find_element(By.ID, "units").click()  # the hidden units of the final network
    units = driver.execute_script("return window.explorer.currentUnits()")
    w, b, a = (np.asarray(v, np.float64) for v in (net.kernels[0][0], net.biases[0], net.kernels[1][:, 0]))
    mine = a[:, None] * sigmoid(w[:, None] * x[None, :, 0] + b[:, None])
    np.testing.assert_allclose(np.array(units["units"]), mine[units["order"]], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(units["sum"], net(x), rtol=1e-9, atol=1e-9)
    assert "units=1" in driver.execute_script("return location.hash")
    _shot(driver, tmp_path, "explorer_d1_units_en")

    # Clicking the median of width 2 on the sup-error curve selects width 2.
    driver.find_element(By.ID, "width").send_keys(Keys.END)
    assert driver.execute_script("return window.explorer.state()")["width"] == 4
    point = driver.execute_script("return window.explorer.curvePoint('sup', 2)")
    over = driver.find_element(By.CSS_SELECTOR, "#sup-plot .u-over")
    ActionChains(driver).move_to_element_with_offset(over, int(point["dx"]), int(point["dy"])).click().perform()
    assert driver.execute_script("return window.explorer.state()")["width"] == 2

    # A link restores width, seed, step, language and the units toggle.
    driver = _open(browser, page, f"#w=2&s=0&step={steps[5]}&lang=es&units=1")
    state = driver.execute_script("return window.explorer.state()")
    assert (state["width"], state["seed"], state["step"], state["lang"], state["units"]) == (2, 0, steps[5], "es", True)
    assert driver.find_element(By.ID, "width-label").text == "anchura de la capa oculta n"
    assert driver.find_element(By.ID, "step-label").text == "paso de entrenamiento"
    assert driver.execute_script("return window.explorer.format(0.25)") == "0,25"
    assert driver.execute_script("return window.explorer.format(3.2e-5)") == "3,2 × 10⁻⁵"
    # The page writes numbers as approx.plots.style.number does (a true minus sign; 12 345 from five digits on).
    for value in (-0.25, -1234.5, 0.00123, 56.7, -3.2e-5):
        assert driver.execute_script(f"return window.explorer.format({value})") == _page_number(value, "es")
    run_line = driver.find_element(By.ID, "run-line").text
    assert run_line.startswith("anchura 2, semilla 0: ECM de prueba ") and not re.search(r"\d\.\d", run_line)
    _shot(driver, tmp_path, "explorer_d1_es")
    _no_errors_or_requests(driver)

    # The JavaScript activations are NumPy's (approx.results.NETWORK_ACTIVATIONS).
    z = np.linspace(-6, 6, 49)
    for name, fn in NETWORK_ACTIVATIONS.items():
        if name == "softmax":
            continue
        got = driver.execute_script("return window.explorer.activation(arguments[0], arguments[1])", name, z.tolist())
        np.testing.assert_allclose(got, fn(z), rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "es"])
def test_browser_heatmaps_and_slices(browser, tmp_path, lang):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    run_dir = fake_sweep(tmp_path / "d2", dim=2, widths=(2, 8, 32), seeds=2, snapshots=4)
    driver = _open(browser, write_explorer(run_dir, lang=lang), "#w=8&s=1")
    fit = _fit(driver)
    net = load_network(run_dir, 8, 1)
    np.testing.assert_allclose(fit["y"], net(plot_points(2)), rtol=1e-5, atol=1e-6)
    assert len(driver.find_elements(By.CSS_SELECTOR, ".heat")) == 3
    _no_errors_or_requests(driver)
    _shot(driver, tmp_path, f"explorer_d2_{lang}")

    run_dir = fake_sweep(tmp_path / "d3", dim=3, widths=(2, 8), seeds=1)
    driver = _open(browser, write_explorer(run_dir, lang=lang), "#w=8&axis=2")
    Select(driver.find_element(By.ID, "axis")).select_by_value("1")
    fit = _fit(driver)
    x = plot_points(3)
    line = slice(129, 258)  # axis 1's line through the centre
    assert fit["index"] == list(range(129, 258))
    np.testing.assert_allclose(fit["x"], x[line, 1], rtol=1e-6)
    np.testing.assert_allclose(fit["y"], load_network(run_dir, 8, 0)(x[line]), rtol=1e-5, atol=1e-6)
    assert "axis=1" in driver.execute_script("return location.hash")
    _no_errors_or_requests(driver)
    _shot(driver, tmp_path, f"explorer_d3_{lang}")
