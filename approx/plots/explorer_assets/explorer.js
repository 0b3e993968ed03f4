// The explorer page of an approx width sweep (approx.plots.explorer writes the data
// this script reads from the page's "explorer-data" element). It draws with
// uPlot, does no training, and makes no request: everything is in the page.
(function () {
  "use strict";

  const DATA = JSON.parse(document.getElementById("explorer-data").textContent);
  const SWEEP = DATA.sweep;
  const DIM = SWEEP.dim;
  const PALETTE = { fit: "#0072B2", target: "#000000", train: "#E69F00", mark: "#D55E00", band: "rgba(0,114,178,0.18)", selected: "#333333" };
  const UNIT_COLORS = ["#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999999"];
  const FONT = "16px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";
  const LABEL_FONT = "600 17px system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif";

  // -- decoding ------------------------------------------------------------------
  function bytes(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return new DataView(out.buffer);
  }
  function f32(b64) { // little-endian float32, as approx.plots.explorer writes it
    const view = bytes(b64), out = new Float64Array(view.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  function f64(b64) {
    const view = bytes(b64), out = new Float64Array(view.byteLength / 8);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
    return out;
  }
  const X = f32(DATA.x); // plotting points, (P, d) row-major
  const P = X.length / DIM;
  const TARGET = DATA.target ? f32(DATA.target) : null;
  const TRAIN = DATA.train ? { x: f32(DATA.train.x), y: f32(DATA.train.y) } : null;
  const RUNS = new Map(DATA.runs.map((r) => [key(r.depth, r.width, r.seed), r]));
  const decoded = new Map();
  function key(depth, width, seed) { return depth + "/" + width + "/" + seed; }
  function runData(run) { // decoded once, on first use
    let d = decoded.get(run);
    if (!d) {
      d = { fit: f32(run.fit) };
      if (run.units) d.units = { w: f64(run.units.w), b: f64(run.units.b), a: f64(run.units.a), c: run.units.c };
      if (run.snapshots) d.snapFit = f32(run.snapshots.fit);
      if (run.snapshots && run.snapshots.params) d.snapParams = f32(run.snapshots.params);
      decoded.set(run, d);
    }
    return d;
  }

  // -- activations: twins of approx.results.NETWORK_ACTIVATIONS ------------------
  const ACTIVATIONS = {
    sigmoid: (z) => 0.5 * Math.tanh(0.5 * z) + 0.5,
    tanh: Math.tanh,
    relu: (z) => Math.max(z, 0),
    gelu: (z) => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z))),
    sin: Math.sin,
    cos_squasher: (z) => 0.5 * (1 + Math.sin(Math.min(Math.max(z, -Math.PI / 2), Math.PI / 2))),
    softplus: (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))),
    elu: (z) => (z > 0 ? z : Math.expm1(z)),
    linear: (z) => z,
  };

  // -- state and the URL fragment --------------------------------------------------
  const state = { depth: SWEEP.depths[0], width: null, seed: SWEEP.seeds[0], step: null, axis: 0, units: false, lang: DATA.lang };

  function widthsOf(depth) {
    return [...new Set(DATA.runs.filter((r) => r.depth === depth).map((r) => r.width))].sort((a, b) => a - b);
  }
  function seedsOf(depth, width) {
    return DATA.runs.filter((r) => r.depth === depth && r.width === width).map((r) => r.seed).sort((a, b) => a - b);
  }
  function currentRun() { return RUNS.get(key(state.depth, state.width, state.seed)) || null; }
  function nearest(list, v) {
    let best = list[0];
    for (const x of list) if (Math.abs(x - v) < Math.abs(best - v)) best = x;
    return best;
  }
  function normalize() { // every state value one the sweep has
    if (!SWEEP.depths.includes(state.depth)) state.depth = SWEEP.depths[0];
    const widths = widthsOf(state.depth);
    if (state.width === null || !widths.includes(state.width)) {
      state.width = state.width === null ? widths[Math.floor((widths.length - 1) / 2)] : nearest(widths, state.width);
    }
    const seeds = seedsOf(state.depth, state.width);
    if (!seeds.includes(state.seed)) state.seed = seeds[0];
    if (!(state.axis >= 0 && state.axis < DIM) || DIM <= 2) state.axis = 0;
    if (!DATA.strings[state.lang]) state.lang = "en";
    const run = currentRun();
    if (run && run.snapshots) {
      const steps = run.snapshots.steps;
      state.step = state.step === null ? steps[steps.length - 1] : nearest(steps, state.step);
    }
  }

  function readFragment() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const int = (name) => (params.has(name) && /^-?\d+$/.test(params.get(name)) ? parseInt(params.get(name), 10) : null);
    if (int("depth") !== null) state.depth = int("depth");
    if (int("w") !== null) state.width = int("w");
    if (int("s") !== null) state.seed = int("s");
    if (int("step") !== null) state.step = int("step");
    if (int("axis") !== null) state.axis = int("axis");
    if (params.has("units")) state.units = params.get("units") === "1";
    if (params.has("lang") && DATA.strings[params.get("lang")]) state.lang = params.get("lang");
  }
  function fragment() {
    const p = new URLSearchParams();
    p.set("w", state.width);
    p.set("s", state.seed);
    if (SWEEP.depths.length > 1) p.set("depth", state.depth);
    const run = currentRun();
    if (run && run.snapshots) p.set("step", state.step);
    if (DIM > 2) p.set("axis", state.axis);
    if (unitsAvailable()) p.set("units", state.units ? "1" : "0");
    p.set("lang", state.lang);
    return "#" + p.toString();
  }
  let writtenHash = null;
  function writeFragment() {
    const hash = fragment();
    if (hash === location.hash) return;
    writtenHash = hash;
    try {
      history.replaceState(null, "", hash);
    } catch (e) {
      location.hash = hash;
    }
  }

  // -- text and numbers --------------------------------------------------------------
  function t(name, fmt) {
    let s = DATA.strings[state.lang][name];
    for (const [k, v] of Object.entries(fmt || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }
  const SUPERSCRIPT = { "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "-": "⁻" };
  function sup(n) { return String(n).split("").map((c) => SUPERSCRIPT[c]).join(""); }
  // A number's digits as approx.plots.style.number writes them: a true minus sign, and in
  // Spanish a decimal comma and a thin space between thousands from five digits on (12 345,5).
  function decimal(s) {
    if (state.lang === "es") {
      const [whole, frac] = s.split(".");
      const sign = /^[-+]/.test(whole) ? whole[0] : "";
      let digits = whole.slice(sign.length);
      if (/^\d{5,}$/.test(digits)) digits = digits.replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009");
      s = sign + digits + (frac === undefined ? "" : "," + frac);
    }
    return s.replace(/-/g, "\u2212");
  }
  // A number as a lecturer writes it: 0.25, 3.2 × 10⁻⁵ (0,25 and 3,2 × 10⁻⁵ in Spanish).
  function fmt(v, digits) {
    digits = digits || 2;
    if (v === null || v === undefined || !isFinite(v)) return "–";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e-3 && a < 1e4) return decimal(String(Number(v.toPrecision(digits + 1))));
    let e = Math.floor(Math.log10(a));
    let m = Number((v / Math.pow(10, e)).toFixed(digits - 1));
    if (Math.abs(m) >= 10) { m /= 10; e += 1; }
    return (m === 1 ? "" : decimal(m.toFixed(digits - 1)) + " × ") + "10" + sup(e);
  }
  function tickValues(u, splits) { // linear axes: the fewest decimals that write every tick exactly
    const values = splits.filter((v) => v !== null);
    let decimals = 0;
    while (decimals < 6 && values.some((v) => Math.abs(v * 10 ** decimals - Math.round(v * 10 ** decimals)) > 1e-6)) decimals++;
    return splits.map((v) => (v === null ? "" : decimal((Math.abs(v) < 1e-12 ? 0 : v).toFixed(decimals))));
  }
  function power(v) { // 1, 10 and 10ⁿ
    const e = Math.round(Math.log10(v));
    return e === 0 ? "1" : e === 1 ? "10" : "10" + sup(e);
  }
  function logTickValues(u, splits) { // powers of ten only, unless the range holds fewer than two
    const isPower = (v) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9;
    const powers = splits.filter(isPower);
    return splits.map((v) => (v === null ? "" : powers.length < 2 ? fmt(v, 2) : isPower(v) ? power(v) : ""));
  }
  function axisSize(u, values, axisIdx, cycleNum) { // room for the longest tick label
    const axis = u.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    let size = axis.ticks.size + axis.gap;
    const longest = (values || []).reduce((acc, v) => (String(v).length > acc.length ? String(v) : acc), "");
    if (longest !== "") {
      u.ctx.font = axis.font[0];
      size += u.ctx.measureText(longest).width / uPlot.pxRatio;
    }
    return Math.ceil(size);
  }
  function axes(xLabel, yLabel, opts) {
    opts = opts || {};
    const common = { font: FONT, labelFont: LABEL_FONT, stroke: "#222", grid: { stroke: "rgba(0,0,0,0.08)", width: 1 },
                     ticks: { stroke: "rgba(0,0,0,0.25)", width: 1, size: 6 } };
    return [
      Object.assign({}, common, { label: xLabel, labelSize: 30, size: 40, space: opts.xSpace || 64, values: opts.xValues || tickValues }),
      Object.assign({}, common, { label: yLabel, labelSize: 30, size: axisSize, space: 40, values: opts.yValues || tickValues }),
    ];
  }

  // -- what is drawn: exposed to tests as window.explorer.* ---------------------------
  function lineIndex() { // indices into the plotting points of the line drawn (d = 1 or a slice)
    const n = DIM === 1 ? P : P / DIM, start = DIM === 1 ? 0 : state.axis * n;
    return Array.from({ length: n }, (_, i) => start + i);
  }
  function lineX(index) { return index.map((i) => X[i * DIM + (DIM === 1 ? 0 : state.axis)]); }
  function fitValues(run) { // the fit on every plotting point at the selected step
    const d = runData(run);
    if (!run.snapshots) return d.fit;
    const k = run.snapshots.steps.indexOf(state.step);
    return d.snapFit.subarray(k * P, (k + 1) * P);
  }
  function currentFit() {
    const run = currentRun();
    if (!run) return null;
    const y = fitValues(run);
    if (DIM === 2) return { index: Array.from({ length: P }, (_, i) => i), x: null, y: Array.from(y) };
    const index = lineIndex();
    return { index, x: lineX(index), y: index.map((i) => y[i]) };
  }
  function currentTarget() {
    if (!TARGET) return null;
    if (DIM === 2) return { index: Array.from({ length: P }, (_, i) => i), x: null, y: Array.from(TARGET) };
    const index = lineIndex();
    return { index, x: lineX(index), y: index.map((i) => TARGET[i]) };
  }
  function unitsAvailable() { const run = currentRun(); return !!(run && run.units); }
  function finalStep(run) { return !run.snapshots || state.step === run.snapshots.steps[run.snapshots.steps.length - 1]; }
  function unitsAtStep(run) { // the units of the snapshot shown: the final network's, or a kept snapshot's
    const d = runData(run);
    if (finalStep(run)) return d.units;
    if (!d.snapParams) return null;
    const k = run.snapshots.steps.indexOf(state.step), n = run.width, row = d.snapParams.subarray(k * (3 * n + 1), (k + 1) * (3 * n + 1));
    return { w: row.subarray(0, n), b: row.subarray(n, 2 * n), a: row.subarray(2 * n, 3 * n), c: row[3 * n] };
  }
  function currentUnits() { // a_j act(w_j x + b_j) on the line, sorted by where each unit turns
    const run = currentRun();
    if (!run || !run.units) return null;
    const u = unitsAtStep(run), act = ACTIVATIONS[SWEEP.activation];
    if (!u) return null;
    const x = lineX(lineIndex());
    const order = Array.from(u.w.keys()).sort((i, j) => centre(u, i) - centre(u, j));
    const units = order.map((j) => x.map((xi) => u.a[j] * act(u.w[j] * xi + u.b[j])));
    const sum = x.map((_, i) => units.reduce((acc, unit) => acc + unit[i], u.c));
    return { x, order, units, bias: u.c, sum };
  }
  function centre(u, j) { return u.w[j] === 0 ? Infinity : -u.b[j] / u.w[j]; }

  // -- charts --------------------------------------------------------------------------
  const charts = [];
  function clearCharts() { while (charts.length) charts.pop().destroy(); }
  function chart(opts, data, el) { const u = new uPlot(opts, data, el); charts.push(u); return u; }
  function nulls(a) { return Array.from(a, (v) => (isFinite(v) ? v : null)); }
  function range(arrays, pad) {
    let lo = Infinity, hi = -Infinity;
    for (const a of arrays) for (const v of a) if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!isFinite(lo)) return [0, 1];
    if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
    const p = (pad === undefined ? 0.08 : pad) * (hi - lo);
    return [lo - p, hi + p];
  }
  let finalRange = null; // the y range of the target and every final fit: steady as the width slider moves
  function steadyRange() {
    if (finalRange === null) {
      const idx = lineIndex(), arrays = DATA.runs.map((r) => idx.map((i) => runData(r).fit[i]));
      if (TARGET) arrays.push(idx.map((i) => TARGET[i]));
      finalRange = range(arrays, 0);
    }
    return finalRange;
  }

  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function available(el) { // the viewport's height below el, so that a projected page needs no scrolling
    return window.innerHeight - (el.getBoundingClientRect().top + window.scrollY);
  }
  function sideBySide() { return $("error-panel").offsetTop === $("fit-panel").offsetTop; }

  function drawLine(el, width) { // d = 1, or a slice through the centre for d > 2
    const run = currentRun(), fit = currentFit(), tgt = currentTarget();
    const units = state.units && unitsAvailable() ? currentUnits() : null;
    const series = [{}], data = [fit.x], train = DIM === 1 && TRAIN;
    const legend = [];
    if (tgt) legend.push({ kind: "line", color: PALETTE.target, width: 3, dash: "12 7", label: t("target") });
    if (train) legend.push({ kind: "dot", color: PALETTE.train, label: t("train") + " (" + TRAIN.x.length + ")" });
    if (units) {
      units.units.forEach((unit, k) => {
        series.push({ stroke: UNIT_COLORS[k % UNIT_COLORS.length], width: 2, alpha: 0.6 });
        data.push(unit);
      });
      series.push({ stroke: "#444", width: 2, dash: [3, 6] });
      data.push(fit.x.map(() => units.bias));
      legend.push({ kind: "line", color: "#888", width: 2, label: t("unit_legend") });
      legend.push({ kind: "line", color: "#444", width: 2, dash: "3 6", label: t("bias") });
    }
    if (tgt) {
      series.push({ stroke: PALETTE.target, width: 3, dash: [12, 7] });
      data.push(tgt.y);
    }
    series.push({ stroke: PALETTE.fit, width: units ? 5 : 4 });
    data.push(nulls(fit.y));
    legend.push({ kind: "line", color: PALETTE.fit, width: 4, label: units ? t("sum") : t("fit") });
    const [lo0, hi0] = steadyRange();
    const [lo, hi] = range([[lo0, hi0], fit.y].concat(units ? units.units.concat([[units.bias]]) : []), 0.06);
    const height = clamp(available(el) - 110, 320, Math.round(width * 0.7));
    chart({
      width, height, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false, range: [0, 1] }, y: { range: [lo, hi] } },
      axes: axes(DIM === 1 ? t("x") : t("x_slice", { axis: sub(state.axis + 1) }), t("y")),
      series,
      hooks: { drawClear: train ? [drawTrainingPoints] : [] },
    }, data, el);
    setLegend("fit-legend", legend);
  }
  function sub(n) { return String(n).split("").map((c) => "₀₁₂₃₄₅₆₇₈₉"[+c]).join(""); }
  function drawTrainingPoints(u) {
    const ctx = u.ctx, r = 3.2 * uPlot.pxRatio;
    ctx.save();
    ctx.fillStyle = PALETTE.train;
    ctx.globalAlpha = 0.75;
    for (let i = 0; i < TRAIN.x.length; i++) {
      const cx = u.valToPos(TRAIN.x[i], "x", true), cy = u.valToPos(TRAIN.y[i], "y", true);
      ctx.beginPath();
      ctx.arc(cx, cy, r, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.restore();
  }

  // d = 2: heatmaps of f, g and |f - g| with their colour scales
  function lut(stops) {
    const rgb = stops.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
    return (v) => { // v in [0, 1]
      const s = Math.min(Math.max(v, 0), 1) * (rgb.length - 1), i = Math.min(Math.floor(s), rgb.length - 2), f = s - i;
      return rgb[i].map((c, k) => Math.round(c + f * (rgb[i + 1][k] - c)));
    };
  }
  function heatImage(values, side, lo, hi, colour) {
    const canvas = document.createElement("canvas");
    canvas.width = side;
    canvas.height = side;
    const ctx = canvas.getContext("2d"), img = ctx.createImageData(side, side);
    for (let i = 0; i < side; i++) { // first coordinate: columns, left to right
      for (let j = 0; j < side; j++) { // second coordinate: rows, bottom to top
        const v = values[i * side + j], p = 4 * ((side - 1 - j) * side + i);
        const c = isFinite(v) ? colour((v - lo) / (hi - lo || 1)) : [255, 255, 255];
        img.data[p] = c[0]; img.data[p + 1] = c[1]; img.data[p + 2] = c[2]; img.data[p + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    return canvas;
  }
  function heatmap(el, title, values, lo, hi, colormap, size, bar) {
    const side = Math.round(Math.sqrt(P)), h = 0.5 / (side - 1);
    const image = heatImage(values, side, lo, hi, lut(DATA.colormaps[colormap]));
    const box = document.createElement("div");
    box.className = "heat";
    box.innerHTML = "<h2></h2><div class='heat-row'></div>";
    box.querySelector("h2").textContent = title;
    el.appendChild(box);
    const row = box.querySelector(".heat-row");
    chart({
      width: size + 60, height: size + 44, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false, range: [-h, 1 + h] }, y: { range: [-h, 1 + h] } },
      axes: axes("x₁", "x₂").map((a) => Object.assign(a, { grid: { show: false }, size: 40, labelSize: 24, splits: () => [0, 0.5, 1] })),
      series: [{}, {}],
      hooks: { draw: [(u) => {
        u.ctx.imageSmoothingEnabled = true;
        u.ctx.drawImage(image, u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      }] },
    }, [[0, 1], [null, null]], row);
    if (!bar) return;
    const holder = document.createElement("div");
    row.appendChild(holder);
    chart({ // the colour scale: a vertical bar with the value axis on its right
      width: 92, height: size + 44, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: false, range: [0, 1] }, y: { range: [lo, hi] } },
      axes: [{ show: false, size: 44 }, Object.assign(axes("", "")[1], { side: 1, label: "", labelSize: 0, gap: 4, grid: { show: false } })],
      series: [{}, {}],
      hooks: { draw: [(u) => {
        const ctx = u.ctx, { left, top, width, height } = u.bbox, grad = ctx.createLinearGradient(0, top + height, 0, top);
        DATA.colormaps[colormap].forEach((c, i, all) => grad.addColorStop(i / (all.length - 1), c));
        ctx.fillStyle = grad;
        ctx.fillRect(left, top, width, height);
      }] },
    }, [[0, 1], [null, null]], holder);
  }
  function drawHeatmaps(el, width) { // f and g on one colour scale, |f - g| on its own: one row, the curves below
    const fit = currentFit().y, tgt = TARGET ? Array.from(TARGET) : null;
    const size = Math.floor(clamp(Math.min((width - 60) / (tgt ? 3 : 1) - 140, available(el) - 520), 200, 480));
    const holder = document.createElement("div");
    holder.className = "heatmaps";
    el.appendChild(holder);
    const [lo, hi] = range(tgt ? [tgt, fit] : [fit], 0);
    if (tgt) heatmap(holder, t("heat_target"), tgt, lo, hi, "viridis", size, false);
    heatmap(holder, t("heat_fit"), fit, lo, hi, "viridis", size, true);
    if (tgt) {
      const err = fit.map((g, i) => Math.abs(tgt[i] - g));
      const top = Math.max(...err.filter(isFinite), 0);
      heatmap(holder, t("heat_error"), err, 0, top > 0 ? top : 1, "magma", size, true);
    }
    setLegend("fit-legend", []);
  }

  // the error curves: test MSE and sup error against width, log-log
  const curveCharts = {};
  function curvePoint(which, width) { // where the median at `width` is drawn, from the plot area's centre (CSS px)
    const u = curveCharts[which], curves = DATA.curves[String(state.depth)], i = curves.widths.indexOf(width);
    const x = u.valToPos(width, "x"), y = u.valToPos(curves[which].median[i], "y");
    return { dx: x - u.over.clientWidth / 2, dy: y - u.over.clientHeight / 2 };
  }
  function drawCurve(el, which, width, height) {
    const curves = DATA.curves[String(state.depth)], widths = curves.widths;
    const positive = (a) => a.map((v) => (v > 0 ? v : null));
    const mine = widths.map((w) => {
      const run = RUNS.get(key(state.depth, w, state.seed));
      const v = run && !run.diverged ? run["test_" + which] : null;
      return v > 0 ? v : null;
    });
    const selected = widths.indexOf(state.width);
    const u = chart({
      width, height, legend: { show: false },
      cursor: { x: true, y: false, points: { size: 16, width: 3 }, drag: { x: false, y: false, setScale: false } },
      scales: { x: { time: false, distr: 3, log: 2 }, y: { distr: 3, log: 10 } },
      axes: axes(t("width"), "", { xSpace: 28, xValues: (u, s) => s.map((v) => (v === null ? "" : String(v))), yValues: logTickValues }),
      series: [
        {},
        { stroke: PALETTE.fit, width: 3, points: { show: true, size: 9, fill: PALETTE.fit } },
        { stroke: "rgba(0,0,0,0)", points: { show: false } },
        { stroke: "rgba(0,0,0,0)", points: { show: false } },
        { stroke: PALETTE.mark, width: 0, paths: () => null, points: { show: true, size: 11, fill: PALETTE.mark, stroke: "#fff", width: 1.5 } },
      ],
      bands: [{ series: [3, 2], fill: PALETTE.band }],
      hooks: { draw: [(u) => { // the selected width
        if (selected < 0) return;
        const ctx = u.ctx, px = u.valToPos(widths[selected], "x", true);
        ctx.save();
        ctx.strokeStyle = PALETTE.selected;
        ctx.lineWidth = 2 * uPlot.pxRatio;
        ctx.setLineDash([6 * uPlot.pxRatio, 5 * uPlot.pxRatio]);
        ctx.beginPath();
        ctx.moveTo(px, u.bbox.top);
        ctx.lineTo(px, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.restore();
      }] },
    }, [widths, positive(curves[which].median), positive(curves[which].min), positive(curves[which].max), mine], el);
    curveCharts[which] = u;
    u.over.addEventListener("click", () => {
      const i = u.cursor.idx;
      if (i !== null && i !== undefined) update({ width: widths[i] });
    });
  }

  function setLegend(id, items) {
    const el = document.getElementById(id);
    el.textContent = "";
    for (const item of items) {
      const span = document.createElement("span");
      span.className = "item";
      const mark = item.kind === "dot"
        ? `<circle cx="17" cy="9" r="5" fill="${item.color}"/>`
        : item.kind === "band"
          ? `<rect x="2" y="2" width="30" height="14" fill="${item.color}"/>`
          : `<line x1="2" y1="9" x2="32" y2="9" stroke="${item.color}" stroke-width="${item.width}"${item.dash ? ` stroke-dasharray="${item.dash}"` : ""}/>`;
      span.innerHTML = `<svg width="34" height="18" viewBox="0 0 34 18">${mark}</svg>`;
      span.appendChild(document.createTextNode(item.label));
      el.appendChild(span);
    }
  }

  // -- controls ------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  function fillSelect(select, values, label) {
    const want = values.map(String).join(",");
    if (select.dataset.values !== want || select.dataset.lang !== state.lang) {
      select.textContent = "";
      for (const v of values) {
        const o = document.createElement("option");
        o.value = String(v);
        o.textContent = label(v);
        select.appendChild(o);
      }
      select.dataset.values = want;
      select.dataset.lang = state.lang;
    }
  }
  function syncControls() {
    const widths = widthsOf(state.depth), run = currentRun();
    $("width").max = String(widths.length - 1);
    $("width").value = String(widths.indexOf(state.width));
    $("width-value").textContent = String(state.width);
    fillSelect($("seed"), seedsOf(state.depth, state.width), String);
    $("seed").value = String(state.seed);
    $("depth-control").hidden = SWEEP.depths.length < 2;
    fillSelect($("depth"), SWEEP.depths, String);
    $("depth").value = String(state.depth);
    $("axis-control").hidden = DIM <= 2;
    fillSelect($("axis"), Array.from({ length: DIM }, (_, i) => i), (i) => "x" + sub(i + 1));
    $("axis").value = String(state.axis);
    $("units-control").hidden = !(DIM === 1 && SWEEP.depths.includes(1));
    $("units").disabled = !unitsAvailable();
    $("units").checked = state.units;
    const snaps = run && run.snapshots;
    $("step-control").hidden = !snaps;
    if (snaps) {
      const steps = snaps.steps;
      $("step").max = String(steps.length - 1);
      $("step").value = String(steps.indexOf(state.step));
      $("step-value").textContent = t("step_of", { step: state.step, last: steps[steps.length - 1] });
    }
    for (const b of document.querySelectorAll("#lang-switch button")) b.classList.toggle("active", b.dataset.lang === state.lang);
  }
  function syncText() {
    document.documentElement.lang = state.lang;
    $("title").textContent = t("title");
    $("subtitle").textContent = t("subtitle", { target: SWEEP.names[state.lang].target, dimsup: DIM === 1 ? "" : sup(DIM), activation: SWEEP.names[state.lang].activation });
    for (const name of ["width", "seed", "depth", "axis", "units", "step", "language"]) $(name + "-label").textContent = t(name);
    $("mse-title").textContent = t("mse");
    $("sup-title").textContent = t("sup");
    $("click-hint").textContent = t("click");
    const run = currentRun();
    $("run-line").textContent = run
      ? t("run_line", { width: state.width, seed: state.seed, mse: fmt(run.test_mse), sup: fmt(run.test_sup) }) + (run.diverged ? " (" + t("diverged") + ")" : "")
      : "";
    const notes = [];
    if (!TARGET && DATA.target_missing) notes.push(t("no_target", { why: DATA.target_missing }));
    if (state.units && DIM === 1) {
      if (!unitsAvailable()) notes.push(t("units_depth"));
      else if (!unitsAtStep(run)) notes.push(t("units_step"));
    }
    $("note").textContent = notes.join(" ");
    const k = Math.max(...DATA.curves[String(state.depth)].seeds, 0);
    setLegend("curve-legend", [
      { kind: "line", color: PALETTE.fit, width: 3, label: k === 1 ? t("one_seed") : t("median", { k }) },
      { kind: "band", color: PALETTE.band, label: t("spread") },
      { kind: "dot", color: PALETTE.mark, label: t("this_run") + " " + state.seed },
      { kind: "line", color: PALETTE.selected, width: 2, dash: "6 5", label: "n = " + state.width },
    ]);
  }

  function render() {
    normalize();
    document.body.classList.toggle("maps", DIM === 2);
    syncControls();
    syncText();
    clearCharts();
    const fitEl = $("fit-plot");
    fitEl.textContent = "";
    const fitWidth = Math.max(360, fitEl.clientWidth || 700);
    if (currentRun()) (DIM === 2 ? drawHeatmaps : drawLine)(fitEl, fitWidth);
    $("mse-plot").textContent = "";
    $("sup-plot").textContent = "";
    const curveHeight = DIM === 2 ? clamp(available($("mse-plot")) - 130, 160, 340)
      : sideBySide() ? clamp((available($("mse-plot")) - 150) / 2, 180, 340) : 280;
    for (const which of ["mse", "sup"]) {
      const el = $(which + "-plot");
      drawCurve(el, which, Math.max(320, el.clientWidth || 500), curveHeight);
    }
    writeFragment();
    document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
  }
  function update(change) {
    Object.assign(state, change);
    render();
  }

  $("width").addEventListener("input", (e) => update({ width: widthsOf(state.depth)[+e.target.value] }));
  $("seed").addEventListener("change", (e) => update({ seed: +e.target.value }));
  $("depth").addEventListener("change", (e) => { finalRange = null; update({ depth: +e.target.value }); });
  $("axis").addEventListener("change", (e) => { finalRange = null; update({ axis: +e.target.value }); });
  $("units").addEventListener("change", (e) => update({ units: e.target.checked }));
  $("step").addEventListener("input", (e) => update({ step: currentRun().snapshots.steps[+e.target.value] }));
  for (const b of document.querySelectorAll("#lang-switch button")) b.addEventListener("click", () => update({ lang: b.dataset.lang }));
  window.addEventListener("hashchange", () => {
    if (location.hash === writtenHash) return;
    readFragment();
    finalRange = null;
    render();
  });
  let resizeTimer = null;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(render, 150); });

  readFragment();
  render();

  window.explorer = {
    data: DATA,
    state: () => Object.assign({}, state),
    set: (change) => { if ("axis" in change || "depth" in change) finalRange = null; update(change); },
    currentFit,
    currentTarget,
    currentUnits,
    activation: (name, z) => z.map(ACTIVATIONS[name]),
    curvePoint,
    format: fmt,
    fragment,
  };
})();
