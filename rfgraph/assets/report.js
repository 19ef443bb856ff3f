// rfgraph's HTML report: select a node, then a feature; draw its box and its effective receptive field.
// The data comes from rfgraph/html.py. The box is read off exact integers (rfgraph.locate's own boxes);
// the ERF is the walk of rfgraph/effective.py, done again here over the embedded taps.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("rfgraph-data").textContent);
  const nodes = new Map(data.nodes.map((n) => [n.name, n]));
  const order = data.nodes.map((n) => n.name); // a topological order, the source first
  const [H, W] = data.input_size;
  const SVG = "http://www.w3.org/2000/svg";
  const ROUNDING = 1e-12; // as rfgraph.effective: sums of many weights may miss the mass by rounding only
  const report = { data, node: null, feature: null, last: null, select, pick, walk, boxOf };
  window.rfgraphReport = report; // for the tests, and for anyone curious

  const $ = (id) => document.getElementById(id);
  const text = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const collapse = (values) => (new Set(values.map(String)).size === 1 ? String(values[0]) : "[" + values.join(", ") + "]");
  const mod = (a, b) => ((a % b) + b) % b;

  // --- the box one feature reads: rfgraph.locate.locate, read off the embedded field and boxes --------
  function boxOf(node, feature) {
    const read = readBox(node, feature);
    return feature.map((x, i) => {
      const field = node.fields[i];
      let first = null;
      let last = null;
      if (field) {
        const m = Math.floor(x / field.period);
        const box = field.boxes[x - m * field.period];
        if (box) {
          first = box[0] + m * field.step;
          last = box[1] + m * field.step;
        }
      }
      return { first, last, clipped: read && read[i] };
    });
  }

  // [first, last] per axis of the pixels a feature reads (null on an axis without boxes), null when it
  // reads none: per axis when the node's boxes are products of per-axis ones (rfgraph/html.py
  // _clipped), else off whole maps
  function readBox(node, feature) {
    const c = node.clipped;
    if (!c) return null;
    let box;
    if (c.axes) {
      box = feature.map((x, i) => c.axes[i] && [c.axes[i][0][x], c.axes[i][1][x]]);
    } else {
      const area = node.size[0] * node.size[1];
      const at = feature[0] * node.size[1] + feature[1];
      box = feature.map((_, i) => [c.map[0][i * area + at], c.map[1][i * area + at]]);
    }
    return box.every((b) => !b || b[0] <= b[1]) ? box : null;
  }

  // --- the effective receptive field: rfgraph.effective's walk ----------------------------------------
  // A block of weights: the coordinate of its first position on each axis (o), its shape (n), and the
  // weights, row-major (h, then w). Axes that are not walked keep one position.
  const expanded = new Map();
  function phases(name, i) {
    const key = name + "\u0000" + i;
    if (!expanded.has(key)) {
      const taps = nodes.get(name).walk.taps[i];
      const out = taps.phases.map((p) => {
        let offsets = p.offsets;
        if (!Array.isArray(offsets)) {
          const all = [];
          for (let o = offsets.start; o < offsets.stop; o += offsets.step) all.push(o);
          offsets = all;
        }
        const weights = Array.isArray(p.weights) ? p.weights : offsets.map(() => p.weights);
        return { offsets, weights };
      });
      expanded.set(key, { period: taps.period, step: taps.step, phases: out });
    }
    return expanded.get(key);
  }

  const sizeOf = (name, i) => nodes.get(name).size[i];
  const at = (b, p, q) => p * b.n[1] + q;

  function back(b, k, taps, n) {
    // each output position spreads its weight over the input positions it reads; outside [0, n): padding
    const start = b.o[k];
    const count = b.n[k];
    const parts = []; // [first input coordinate, weight, first output index, outputs]
    for (let phase = 0; phase < taps.period; phase++) {
      const j0 = mod(phase - start, taps.period);
      if (j0 >= count) continue;
      const m0 = (start + j0 - phase) / taps.period;
      const steps = Math.floor((count - 1 - j0) / taps.period) + 1;
      const span = taps.step * (steps - 1);
      const p = taps.phases[phase];
      for (let t = 0; t < p.offsets.length; t++) {
        const first = taps.step * m0 + p.offsets[t];
        if (first + span < 0 || first > n - 1) continue;
        parts.push([first, p.weights[t], j0, steps]);
      }
    }
    const o = b.o.slice();
    const shape = b.n.slice();
    if (!parts.length) {
      o[k] = 0;
      shape[k] = 0;
      return { o, n: shape, a: new Float64Array(0) };
    }
    let low = Infinity;
    let high = -Infinity;
    for (const [first, , , steps] of parts) {
      low = Math.min(low, first);
      high = Math.max(high, first + taps.step * (steps - 1));
    }
    low = Math.max(low, 0);
    high = Math.min(high, n - 1);
    o[k] = low;
    shape[k] = Math.max(high - low + 1, 0);
    const out = { o, n: shape, a: new Float64Array(shape[0] * shape[1]) };
    const other = 1 - k;
    for (const [first, weight, j0, steps] of parts) {
      for (let s = 0; s < steps; s++) {
        const y = first + taps.step * s;
        if (y < low || y > high) continue;
        const j = j0 + taps.period * s;
        for (let q = 0; q < b.n[other]; q++) {
          const from = k === 0 ? at(b, j, q) : at(b, q, j);
          const to = k === 0 ? at(out, y - low, q) : at(out, q, y - low);
          out.a[to] += weight * b.a[from];
        }
      }
    }
    return out;
  }

  function sum(blocks) {
    if (blocks.length === 1) return blocks[0];
    const low = [0, 1].map((k) => Math.min(...blocks.map((b) => b.o[k])));
    const high = [0, 1].map((k) => Math.max(...blocks.map((b) => b.o[k] + b.n[k])));
    const out = { o: low, n: [high[0] - low[0], high[1] - low[1]], a: null };
    out.a = new Float64Array(out.n[0] * out.n[1]);
    for (const b of blocks) {
      for (let p = 0; p < b.n[0]; p++) {
        for (let q = 0; q < b.n[1]; q++) out.a[at(out, p + b.o[0] - low[0], q + b.o[1] - low[1])] += b.a[at(b, p, q)];
      }
    }
    return out;
  }

  function squash(b, k) {
    // a one-feature map broadcast over a larger one: every position reads its feature 0
    const o = b.o.slice();
    const shape = b.n.slice();
    o[k] = 0;
    shape[k] = 1;
    const out = { o, n: shape, a: new Float64Array(shape[0] * shape[1]) };
    for (let p = 0; p < b.n[0]; p++) {
      for (let q = 0; q < b.n[1]; q++) out.a[k === 0 ? at(out, 0, q) : at(out, p, 0)] += b.a[at(b, p, q)];
    }
    return out;
  }

  function scaled(b, share) {
    return { o: b.o, n: b.n, a: b.a.map((x) => x * share) };
  }

  function walk(name, feature, axes) {
    // the unnormalised weights of the input's positions on the walked axes; null: a layer needs a size
    const pending = new Map([[name, [{ o: feature.slice(), n: [1, 1], a: new Float64Array([1]) }]]]);
    const add = (u, b) => (pending.has(u) ? pending.get(u).push(b) : pending.set(u, [b]));
    for (let k = order.length - 1; k >= 0; k--) {
      const v = order[k];
      if (!pending.has(v)) continue;
      let block = sum(pending.get(v));
      pending.delete(v);
      const step = nodes.get(v).walk;
      if (step.source) return block;
      if (step.taps) {
        for (const i of axes) {
          if (!step.taps[i]) return null;
          block = back(block, i, phases(v, i), sizeOf(step.input, i));
        }
        add(step.input, block);
        continue;
      }
      const inputs = step.inputs.filter(([, , global]) => !axes.some((i) => global[i]));
      if (!inputs.length) continue;
      let shares = inputs.map(() => 1 / inputs.length);
      if (step.concat && inputs.every(([, count]) => count !== null)) {
        const total = inputs.reduce((s, [, count]) => s + count, 0);
        shares = inputs.map(([, count]) => count / total);
      }
      inputs.forEach(([u], q) => {
        let b = block;
        for (const i of axes) if (sizeOf(u, i) === 1 && sizeOf(v, i) !== 1) b = squash(b, i);
        add(u, scaled(b, shares[q]));
      });
    }
    return { o: [0, 0], n: [0, 0], a: new Float64Array(0) }; // every weight was lost
  }

  function summary(block, i) {
    // rfgraph.effective.summary of the weights along axis i: mean, std, the shortest 95% interval
    let values = Array.from(block.a);
    let first = block.o[i];
    let lo = values.findIndex((x) => x !== 0);
    if (lo < 0) return null;
    const hi = values.length - 1 - [...values].reverse().findIndex((x) => x !== 0);
    values = values.slice(lo, hi + 1);
    first += lo;
    const total = values.reduce((s, x) => s + x, 0);
    values = values.map((x) => x / total);
    let mean = 0;
    values.forEach((x, j) => (mean += x * (first + j)));
    let variance = 0;
    values.forEach((x, j) => (variance += x * (first + j - mean) ** 2));
    const mass = values.map(Math.abs);
    const whole = mass.reduce((s, x) => s + x, 0);
    const cumulative = [0];
    mass.forEach((x, j) => cumulative.push(cumulative[j] + x / whole));
    const candidates = [];
    let end = 0;
    for (let a = 0; a < values.length; a++) {
      const target = cumulative[a] + data.mass - ROUNDING;
      while (end < cumulative.length && cumulative[end] < target) end++;
      if (end >= cumulative.length) break;
      candidates.push({ a, length: end - a, held: cumulative[end] - cumulative[a], end });
    }
    // the shortest; among them the most weight, the leftmost of those within rounding of it
    const length = candidates.reduce((m, c) => Math.min(m, c.length), Infinity);
    const shortest = candidates.filter((c) => c.length === length);
    const most = shortest.reduce((m, c) => Math.max(m, c.held), -Infinity);
    const best = shortest.find((c) => c.held >= most - ROUNDING);
    return {
      first,
      last: first + values.length - 1,
      mean,
      std: Math.sqrt(Math.max(variance, 0)),
      interval: [first + best.a, first + best.end - 1],
      width: best.end - best.a,
      weights: values,
    };
  }

  // --- pictures ----------------------------------------------------------------------------------------
  function checkerboard() {
    const canvas = document.createElement("canvas");
    canvas.width = W;
    canvas.height = H;
    const g = canvas.getContext("2d");
    const square = Math.max(2, Math.round(Math.min(W, H) / 14));
    for (let y = 0; y < H; y += square) {
      for (let x = 0; x < W; x += square) {
        g.fillStyle = (x / square + y / square) % 2 ? "#c9c9c9" : "#f4f4f4";
        g.fillRect(x, y, square, square);
      }
    }
    return canvas.toDataURL("image/png");
  }

  const MAGMA = [[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97], [252, 253, 191]];
  function colour(t) {
    const x = t * (MAGMA.length - 1);
    const k = Math.min(Math.floor(x), MAGMA.length - 2);
    const f = x - k;
    return MAGMA[k].map((c, j) => Math.round(c + f * (MAGMA[k + 1][j] - c)));
  }

  function heatImage(block) {
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(block.n[1], 1);
    canvas.height = Math.max(block.n[0], 1);
    const g = canvas.getContext("2d");
    const image = g.createImageData(canvas.width, canvas.height);
    const top = block.a.reduce((m, x) => Math.max(m, x), 0) || 1;
    block.a.forEach((x, j) => {
      const t = x / top;
      const [r, gr, b] = colour(Math.sqrt(t));
      image.data.set([r, gr, b, x > 0 ? Math.round(60 + 170 * Math.sqrt(t)) : 0], 4 * j);
    });
    g.putImageData(image, 0, 0);
    return canvas.toDataURL("image/png");
  }

  function setRect(id, box) {
    // box: [[first, last] along h, [first, last] along w] in input coordinates; a pixel is a unit square
    const r = $(id);
    if (!box) {
      r.setAttribute("visibility", "hidden");
      return;
    }
    r.setAttribute("x", box[1][0]);
    r.setAttribute("y", box[0][0]);
    r.setAttribute("width", box[1][1] - box[1][0] + 1);
    r.setAttribute("height", box[0][1] - box[0][0] + 1);
    r.setAttribute("visibility", "visible");
  }

  // --- the graph: zoom, pan, click ---------------------------------------------------------------------
  const graph = document.querySelector("#graph svg");
  const full = graph.getAttribute("viewBox").split(/\s+/).map(Number);
  // the view keeps the pane's shape (so that panning follows the pointer), as wide as the drawing
  const aspect = () => graph.clientHeight / Math.max(graph.clientWidth, 1);
  const fit = () => [full[0], full[1], full[2], full[2] * aspect()];
  let view = fit();
  const show = () => graph.setAttribute("viewBox", view.map((x) => x.toFixed(2)).join(" "));
  function zoom(factor, cx, cy) {
    view = [cx - (cx - view[0]) * factor, cy - (cy - view[1]) * factor, view[2] * factor, view[3] * factor];
    show();
  }
  function toSvg(e) {
    const p = graph.createSVGPoint();
    p.x = e.clientX;
    p.y = e.clientY;
    return p.matrixTransform(graph.getScreenCTM().inverse());
  }
  graph.addEventListener("wheel", (e) => {
    e.preventDefault();
    const p = toSvg(e);
    zoom(e.deltaY > 0 ? 1.15 : 1 / 1.15, p.x, p.y);
  });
  let drag = null;
  graph.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, view: view.slice(), moved: false };
  });
  graph.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const scale = view[2] / graph.getBoundingClientRect().width;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (drag.moved) {
      view = [drag.view[0] - dx * scale, drag.view[1] - dy * scale, view[2], view[3]];
      show();
    }
  });
  graph.addEventListener("pointerup", () => setTimeout(() => (drag = null), 0));
  graph.addEventListener("click", (e) => {
    if (drag && drag.moved) return;
    const g = e.target.closest("g[data-node]");
    if (g) select(g.dataset.node);
  });
  const centre = () => [view[0] + view[2] / 2, view[1] + view[3] / 2];
  $("zoom-in").addEventListener("click", () => zoom(1 / 1.4, ...centre()));
  $("zoom-out").addEventListener("click", () => zoom(1.4, ...centre()));
  $("zoom-fit").addEventListener("click", () => {
    // the whole drawing
    const scale = Math.max(full[2], full[3] / aspect());
    view = [full[0] + (full[2] - scale) / 2, full[1], scale, scale * aspect()];
    show();
  });
  function focus(name) {
    const g = graph.querySelector(`g[data-node="${CSS.escape(name)}"]`);
    if (!g) return;
    const b = g.getBBox();
    view = [b.x + b.width / 2 - view[2] / 2, b.y + b.height / 2 - view[3] / 2, view[2], view[3]];
    show();
  }

  // --- a node ------------------------------------------------------------------------------------------
  function facts(rows) {
    return rows.map(([k, v]) => `<tr><td>${text(k)}</td><td>${v}</td></tr>`).join("");
  }

  function select(name, feature) {
    const node = nodes.get(name);
    if (!node || !node.shown) return;
    report.node = node;
    for (const el of document.querySelectorAll(".selected")) el.classList.remove("selected");
    for (const el of document.querySelectorAll(`[data-node="${CSS.escape(name)}"]`)) {
      if (el.tagName === "g" || el.tagName === "TR") el.classList.add("selected");
    }
    $("node-title").textContent = name;
    const erf = node.erf;
    const flags = [];
    if (node.aligned === false) flags.push("misaligned merge");
    if (node.aligned === null) flags.push("merge not checked");
    if (node.global && node.r.every((r) => r === null)) flags.push("global: every feature reads the whole input");
    else if (node.global) flags.push("global: a path from the input crosses a global op; r, S, P are the local field's");
    if (node.border.length) flags.push("border layer (" + node.border.map((i) => data.axes[i]).join(", ") + ")");
    const rows = [
      ["op", text(node.op)],
      ["size", node.size.join("x")],
      ["r, S, P", `${text(collapse(node.r))}, ${text(collapse(node.S))}, ${text(collapse(node.P))}`],
      ["r_min", text(collapse(node.r_min))],
      [
        "ERF, centre feature",
        `std ${text(collapse(erf.std.map((x) => (x === null ? "-" : x.toFixed(1)))))}, ` +
          `95% width ${text(collapse(erf.width.map((x) => (x === null ? "-" : x))))}, ` +
          `width/r ${text(collapse(erf.ratio.map((x) => (x === null ? "-" : x.toFixed(2)))))}`,
      ],
    ];
    if (flags.length) rows.push(["note", text(flags.join("; "))]);
    if (erf.equal_concats.length) {
      rows.push(["ERF", text(`the inputs of ${erf.equal_concats.length} concat(s) counted equally: no channel counts`)]);
    }
    $("node-facts").innerHTML = facts(rows);
    drawFeatureMap(node);
    focus(name);
    pick(feature || erf.feature);
  }

  function cellSize(node) {
    return Math.max(1, Math.min(32, Math.floor(224 / Math.max(...node.size))));
  }

  function drawFeatureMap(node, chosen) {
    const canvas = $("feature-map");
    const cell = cellSize(node);
    const [h, w] = node.size;
    canvas.width = w * cell;
    canvas.height = h * cell;
    canvas.dataset.cell = cell;
    const g = canvas.getContext("2d");
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = "#dddddd"; // features that read no input pixel
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) if (readBox(node, [y, x]) === null) g.fillRect(x * cell, y * cell, cell, cell);
    }
    if (cell >= 6) {
      g.strokeStyle = "#e3e3e3";
      g.beginPath();
      for (let y = 0; y <= h; y++) g.moveTo(0, y * cell + 0.5), g.lineTo(w * cell, y * cell + 0.5);
      for (let x = 0; x <= w; x++) g.moveTo(x * cell + 0.5, 0), g.lineTo(x * cell + 0.5, h * cell);
      g.stroke();
    }
    if (chosen) {
      g.fillStyle = "#e07b00";
      if (cell < 6) {
        // a crosshair: one pixel would not be seen
        g.globalAlpha = 0.5;
        g.fillRect(0, chosen[0] * cell, w * cell, cell);
        g.fillRect(chosen[1] * cell, 0, cell, h * cell);
        g.globalAlpha = 1;
      }
      g.fillRect(chosen[1] * cell, chosen[0] * cell, cell, cell);
    }
  }

  $("feature-map").addEventListener("click", (e) => {
    const node = report.node;
    if (!node) return;
    const canvas = e.currentTarget;
    const rect = canvas.getBoundingClientRect();
    const cell = Number(canvas.dataset.cell);
    const x = Math.floor(((e.clientX - rect.left) * canvas.width) / rect.width / cell);
    const y = Math.floor(((e.clientY - rect.top) * canvas.height) / rect.height / cell);
    if (y >= 0 && y < node.size[0] && x >= 0 && x < node.size[1]) pick([y, x]);
  });

  // --- a feature ---------------------------------------------------------------------------------------
  function pick(feature) {
    const node = report.node;
    report.feature = feature;
    drawFeatureMap(node, feature);
    $("feature-label").textContent = `(${node.size.join("x")}; feature ${feature.join(", ")})`;
    const box = boxOf(node, feature);
    const axes = [0, 1].map((i) => {
      const block = walk(node.name, feature, [i]);
      return block === null ? null : summary({ o: [block.o[i]], a: block.a }, 0);
    });
    const map = axes.includes(null) ? null : walk(node.name, feature, [0, 1]);
    let mapSum = 0;
    if (map) mapSum = map.a.reduce((s, x) => s + x, 0);
    if (map && mapSum > 0) {
      const normal = { o: map.o, n: map.n, a: map.a.map((x) => x / mapSum) };
      const heat = $("heat");
      heat.setAttribute("href", heatImage(normal));
      heat.setAttribute("x", map.o[1]);
      heat.setAttribute("y", map.o[0]);
      heat.setAttribute("width", map.n[1]);
      heat.setAttribute("height", map.n[0]);
      heat.setAttribute("visibility", "visible");
      report.last = { node: node.name, feature, box, axes, map: { o: map.o, n: map.n, a: Array.from(normal.a) } };
    } else {
      $("heat").setAttribute("visibility", "hidden");
      report.last = { node: node.name, feature, box, axes, map: null };
    }
    const defined = box.every((b) => b.first !== null);
    setRect("box-field", defined ? box.map((b) => [b.first, b.last]) : null);
    setRect("box-read", box.every((b) => b.clipped) ? box.map((b) => b.clipped) : null);
    setRect("box-erf", axes.every((a) => a) ? axes.map((a) => a.interval) : null);
    frame(box, map);
    const names = data.axes;
    const rows = [["axis", ...names]];
    rows.push(["field (r)", ...box.map((b) => (b.first === null ? "-" : `${b.first}..${b.last}`))]);
    rows.push(["pixels read", ...box.map((b) => (b.clipped ? `${b.clipped[0]}..${b.clipped[1]}` : "none"))]);
    rows.push(["ERF mean", ...axes.map((a) => (a ? a.mean.toFixed(2) : "-"))]);
    rows.push(["ERF std", ...axes.map((a) => (a ? a.std.toFixed(2) : "-"))]);
    rows.push(["ERF 95%", ...axes.map((a) => (a ? `${a.interval[0]}..${a.interval[1]} (${a.width})` : "-"))]);
    $("feature-facts").innerHTML = rows
      .map((r, k) => "<tr>" + r.map((c) => (k ? `<td>${text(c)}</td>` : `<th>${text(c)}</th>`)).join("") + "</tr>")
      .join("");
  }

  function frame(box, map) {
    // show the image, the field and the heat map whole, with some padding around
    let [top, left, bottom, right] = [0, 0, H, W];
    for (const [i, b] of box.entries()) {
      if (b.first === null) continue;
      if (i === 0) (top = Math.min(top, b.first)), (bottom = Math.max(bottom, b.last + 1));
      else (left = Math.min(left, b.first)), (right = Math.max(right, b.last + 1));
    }
    if (map) {
      top = Math.min(top, map.o[0]);
      left = Math.min(left, map.o[1]);
      bottom = Math.max(bottom, map.o[0] + map.n[0]);
      right = Math.max(right, map.o[1] + map.n[1]);
    }
    const margin = 0.04 * Math.max(bottom - top, right - left) + 1;
    const view = [left - margin, top - margin, right - left + 2 * margin, bottom - top + 2 * margin];
    $("input-view").setAttribute("viewBox", view.join(" "));
    const pad = $("padding");
    [["x", view[0]], ["y", view[1]], ["width", view[2]], ["height", view[3]]].forEach(([k, v]) => pad.setAttribute(k, v));
  }

  // --- start -------------------------------------------------------------------------------------------
  const picture = $("picture");
  picture.setAttribute("href", data.image || checkerboard());
  for (const [k, v] of [["width", W], ["height", H]]) {
    picture.setAttribute(k, v);
    $("image-outline").setAttribute(k, v);
  }
  for (const el of document.querySelectorAll("#nodes tbody tr, li[data-node], circle[data-node]")) {
    el.addEventListener("click", () => select(el.dataset.node));
  }
  show();
  const shown = data.nodes.filter((n) => n.shown);
  const output = data.outputs.find((name) => nodes.get(name).shown);
  if (shown.length) select(output || shown[shown.length - 1].name);
  document.body.dataset.ready = "true";
})();
