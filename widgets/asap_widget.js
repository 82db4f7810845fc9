// asap_lab live widget (anywidget ESM). Draws everything itself: no CDN, works offline.
// Python side: asap_lab/notebook/_widget.py (traitlets info, round_view, trials, speculation,
// timing, notices, view_round, controls; custom messages {cmd: ...} for the controls).

const SVGNS = "http://www.w3.org/2000/svg";

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) e.append(c);
  return e;
}

function num(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (typeof v !== "number") return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

function secs(v) {
  if (v === null || v === undefined) return "–";
  if (v < 1) return `${(v * 1000).toFixed(0)} ms`;
  if (v < 120) return `${v.toFixed(1)} s`;
  return `${Math.floor(v / 60)} min ${Math.round(v % 60)} s`;
}

function pct(v) {
  return v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`;
}

const WHO_CLASS = { LLM: "llm", human: "human", fallback: "fallback" };
function whoClass(who) {
  if (!who) return "";
  return WHO_CLASS[who] || (who.startsWith("selector") ? "selector" : "");
}
function byClass(by) {
  if (by === "llm") return "llm";
  if (by === "human" || by === "fallback") return by;
  return "selector";
}

// ---- charts -------------------------------------------------------------------------------

const W = 330, H = 170, M = { l: 48, r: 10, t: 22, b: 30 };

function ticks(lo, hi, n = 4) {
  if (hi <= lo) return [lo];
  const out = [];
  for (let i = 0; i <= n; i++) out.push(lo + ((hi - lo) * i) / n);
  return out;
}

function intTicks(lo, hi, n = 5) {
  const step = Math.max(1, Math.ceil((hi - lo) / n));
  const out = [];
  for (let v = Math.ceil(lo); v <= hi; v += step) out.push(v);
  return out;
}

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.floor(q * (s.length - 1))))];
}

function lineChart({ title, cls, pts, xKey, xLabel, direction }) {
  const root = svg("svg", { class: `asap-chart ${cls}`, viewBox: `0 0 ${W} ${H}`, role: "img" });
  root.append(svg("text", { x: M.l, y: 14, class: "asap-ctitle", text: title }));
  const ok = pts.filter((p) => p.value !== null && p.value !== undefined);
  if (ok.length === 0) {
    root.append(svg("text", { x: W / 2, y: H / 2, class: "asap-empty", "text-anchor": "middle",
      text: "no finished trial yet" }));
    return root;
  }
  const better = direction === "maximize" ? (a, b) => a > b : (a, b) => a < b;
  let best = null;
  const bestPts = [];
  for (const p of ok) {
    if (best === null || better(p.value, best)) best = p.value;
    bestPts.push({ x: p[xKey], y: best });
  }
  const ys = ok.map((p) => p.value);
  // the y range follows the best curve and most trials; outliers are pinned to the top edge
  const ylo = Math.min(...ys);
  const yhi = Math.max(...bestPts.map((p) => p.y), ys.length > 4 ? quantile(ys, 0.85) : Math.max(...ys));
  const logY = ylo > 0 && yhi / ylo > 100;
  const fy = logY ? Math.log10 : (v) => v;
  let a = fy(ylo), b = fy(yhi);
  if (a === b) { a -= 1; b += 1; }
  const xs = pts.map((p) => p[xKey]);
  const xlo = Math.min(0, ...xs), xhi = Math.max(...xs, 1);
  const sx = (x) => M.l + ((x - xlo) / (xhi - xlo)) * (W - M.l - M.r);
  const top = M.t + 2;
  const sy = (y) => Math.max(top, H - M.b - ((fy(y) - a) / (b - a)) * (H - M.t - M.b));
  const axis = svg("g", { class: "asap-axis" });
  for (const t of ticks(a, b)) {
    const v = logY ? 10 ** t : t;
    const y = sy(v);
    axis.append(svg("line", { x1: M.l, x2: W - M.r, y1: y, y2: y, class: "asap-grid" }));
    axis.append(svg("text", { x: M.l - 4, y: y + 3, "text-anchor": "end", text: num(v, 3) }));
  }
  for (const t of xKey === "t" ? ticks(xlo, xhi) : intTicks(xlo, xhi)) {
    axis.append(svg("text", { x: sx(t), y: H - M.b + 12, "text-anchor": sx(t) > W - M.r - 14 ? "end" : "middle",
      text: xKey === "t" ? secs(t).replace(" ", "") : String(t) }));
  }
  axis.append(svg("text", { x: (M.l + W - M.r) / 2, y: H - 3, "text-anchor": "middle",
    class: "asap-xlabel", text: xLabel + (logY ? "   (log y)" : "") }));
  root.append(axis);
  const dots = svg("g", { class: "asap-dots" });
  for (const p of ok) {
    const clipped = fy(p.value) > b;
    dots.append(svg("circle", { cx: sx(p[xKey]), cy: sy(p.value), r: 2.6,
      class: `by-${byClass(p.by)}${clipped ? " clipped" : ""}` },
      svg("title", { text: `trial ${p.n}: ${num(p.value)} (${p.tool}, ${p.by})` })));
  }
  root.append(dots);
  const fails = svg("g", { class: "asap-fails" });  // failed trials: a cross on the x axis
  for (const p of pts.filter((q) => q.error)) {
    const X = sx(p[xKey]), Y = H - M.b;
    fails.append(svg("path", { d: `M${X - 3},${Y - 3}L${X + 3},${Y + 3}M${X - 3},${Y + 3}L${X + 3},${Y - 3}`,
      class: "asap-failed" }, svg("title", { text: `trial ${p.n} failed: ${p.error}` })));
  }
  root.append(fails);
  let d = "";
  bestPts.forEach((p, i) => {
    const X = sx(p.x), Y = sy(p.y);
    d += i === 0 ? `M${X},${Y}` : `H${X}V${Y}`;
  });
  d += `H${sx(xhi)}`;
  root.append(svg("path", { d, class: "asap-best" }));
  return root;
}

function kvChart(trials) {
  const calls = trials.filter((t) => t.kv_prompt > 0);
  const root = svg("svg", { class: "asap-chart asap-kv-chart", viewBox: `0 0 ${W} ${H}`, role: "img" });
  root.append(svg("text", { x: M.l, y: 14, class: "asap-ctitle", text: "KV-cache hit per decision" }));
  if (calls.length === 0) {
    root.append(svg("text", { x: W / 2, y: H / 2, class: "asap-empty", "text-anchor": "middle",
      text: "no LLM decision (selector run)" }));
    return root;
  }
  const bw = Math.max(2, Math.min(18, (W - M.l - M.r) / calls.length - 2));
  const step = (W - M.l - M.r) / calls.length;
  const sy = (v) => H - M.b - v * (H - M.t - M.b);
  for (const t of [0, 0.5, 1]) {
    root.append(svg("line", { x1: M.l, x2: W - M.r, y1: sy(t), y2: sy(t), class: "asap-grid" }));
    root.append(svg("text", { x: M.l - 4, y: sy(t) + 3, "text-anchor": "end", class: "asap-axis-t",
      text: pct(t) }));
  }
  calls.forEach((c, i) => {
    const r = (c.kv_cached || 0) / c.kv_prompt;
    const x = M.l + i * step + (step - bw) / 2;
    root.append(svg("rect", { x, y: sy(r), width: bw, height: Math.max(sy(0) - sy(r), 0.5), class: "asap-kvbar" },
      svg("title", { text: `trial ${c.n}: ${c.kv_cached}/${c.kv_prompt} prompt tokens cached (${pct(r)})` })));
  });
  root.append(svg("text", { x: (M.l + W - M.r) / 2, y: H - 3, "text-anchor": "middle", class: "asap-xlabel",
    text: `${calls.length} decisions (cached / prompt tokens)` }));
  return root;
}

function specChart(rows) {
  const root = svg("svg", { class: "asap-chart asap-spec-chart", viewBox: `0 0 ${W} ${H}`, role: "img" });
  root.append(svg("text", { x: M.l, y: 14, class: "asap-ctitle", text: "prediction error e vs τ" }));
  const taus = rows.map((r) => r.tau).filter((v) => typeof v === "number");
  const es = rows.map((r) => r.e).filter((v) => typeof v === "number");
  // e is unbounded (a relative error): show up to 4 τ, pin larger errors to the top edge
  const yhi = Math.max(4 * Math.max(...taus, 0), es.length ? Math.min(Math.max(...es), 4 * Math.max(...taus, 1e-9)) : 0, 1e-9) * 1.05;
  const ns = rows.map((r) => r.number);
  const xlo = Math.min(...ns), xhi = Math.max(...ns, xlo + 1);
  const sx = (x) => M.l + ((x - xlo) / (xhi - xlo)) * (W - M.l - M.r);
  const sy = (y) => Math.max(M.t + 2, H - M.b - (y / yhi) * (H - M.t - M.b));
  for (const t of ticks(0, yhi, 3)) {
    root.append(svg("line", { x1: M.l, x2: W - M.r, y1: sy(t), y2: sy(t), class: "asap-grid" }));
    root.append(svg("text", { x: M.l - 4, y: sy(t) + 3, "text-anchor": "end", class: "asap-axis-t",
      text: num(t, 2) }));
  }
  let d = "";
  rows.filter((r) => typeof r.tau === "number").forEach((r, i) => {
    d += i === 0 ? `M${sx(r.number)},${sy(r.tau)}` : `H${sx(r.number)}V${sy(r.tau)}`;
  });
  if (d) root.append(svg("path", { d, class: "asap-tau-line" }));
  for (const r of rows) {
    if (typeof r.e !== "number") continue;
    root.append(svg("circle", { cx: sx(r.number), cy: sy(r.e), r: 3.2,
      class: (r.accepted ? "acc" : "rej") + (r.e > yhi ? " clipped" : "") },
      svg("title", { text: `round ${r.number}: e=${num(r.e, 3)} τ=${num(r.tau, 3)}` })));
  }
  root.append(svg("text", { x: (M.l + W - M.r) / 2, y: H - 3, "text-anchor": "middle", class: "asap-xlabel" },
    svg("tspan", { text: "round   " }), svg("tspan", { class: "acc", text: "● " }), svg("tspan", { text: "accepted  " }),
    svg("tspan", { class: "rej", text: "● " }), svg("tspan", { text: "rejected  " }),
    svg("tspan", { class: "tau", text: "- - " }), svg("tspan", { text: "τ" })));
  return root;
}

function legendItems(trials) {
  const seen = new Set(trials.map((t) => byClass(t.by)));
  const names = { llm: "picked by the LLM", selector: "by the selector", human: "by a human", fallback: "fallback" };
  const items = Object.keys(names).filter((k) => seen.has(k)).map((k) =>
    h("span", { class: "item" }, h("i", { class: `dot by-${k}` }), names[k]));
  if (items.length) items.push(h("span", { class: "item" }, h("i", { class: "line" }), "best so far"));
  return items;
}

// ---- sections -----------------------------------------------------------------------------

function header(info) {
  const done = info.done_trials || 0, n = info.n_trials || 0;
  const frac = n ? Math.min(done / n, 1) : 0;
  const best = info.best === null || info.best === undefined ? "–"
    : `${num(info.best)} (trial ${info.best_trial})`;
  return [
    h("span", { class: "asap-title", text: "asap" }),
    h("span", { class: `asap-status st-${info.status}`, text: info.status || "…" }),
    h("span", { class: "asap-progress" },
      h("span", { class: "asap-bar" }, h("span", { class: "asap-fill", style: `width:${(frac * 100).toFixed(1)}%` })),
      h("span", { text: `${done} / ${n} trials` + (info.resumed ? ` (${info.resumed} resumed)` : "") })),
    h("span", { class: "asap-kpi" }, "best ", h("b", { class: "asap-best-value", text: best })),
    h("span", { class: "asap-kpi", text: `wall ${secs(info.elapsed)}` }),
    info.failed ? h("span", { class: "asap-kpi asap-kpi-failed", title: "trials whose objective failed (reason in the round view)",
      text: `${info.failed} failed` }) : null,
    info.fallbacks ? h("span", { class: "asap-kpi asap-kpi-fallback", title: "LLM decisions that fell back to the selector",
      text: `${info.fallbacks} LLM fallback${info.fallbacks > 1 ? "s" : ""}` }) : null,
  ].filter(Boolean);
}

function proposalTable(rv, canControl, send, fillConfig) {
  const rows = rv.proposals || [];
  const sel = rv.selection;
  const table = h("table", { class: "asap-proposals" },
    h("thead", {}, h("tr", {}, h("th", { text: "tool" }), h("th", { text: "proposal" }),
      h("th", { text: "EI", title: "expected improvement under the shared surrogate" }),
      h("th", { text: "ask" }), h("th", { text: "" }), canControl ? h("th", { text: "" }) : null)));
  const body = h("tbody");
  for (const r of rows) {
    let status;
    if (r.picked) status = h("span", { class: `asap-tag picked ${whoClass(sel && sel.who)}`, text: "picked" });
    else if (r.error) status = h("span", { class: "asap-tag err", title: r.error, text: r.error });
    else if (!r.eligible) status = h("span", { class: "asap-tag muted", text: "not shortlisted" });
    else status = "";
    body.append(h("tr", { "data-tool": r.tool, class: r.picked ? "picked" : (r.error ? "error" : "") },
      h("td", { class: "tool", text: r.tool }),
      h("td", { class: "params", title: "click: copy into the configuration field", text: r.params || "–",
        onclick: () => r.config && fillConfig(r.config) }),
      h("td", { class: "num", text: num(r.ei, 3) }),
      h("td", { class: "num", text: secs(r.ask_s) }),
      h("td", { class: "status" }, status),
      canControl ? h("td", {}, h("button", { class: "asap-btn small", "data-cmd": "override_tool",
        disabled: !!r.error || r.tool === "human" || r.tool === "random-fallback",
        title: `evaluate ${r.tool}'s proposal in the next round`,
        onclick: () => send({ cmd: "override_tool", tool: r.tool }), text: "use next" })) : null));
  }
  if (rows.length === 0) body.append(h("tr", {}, h("td", { colspan: 6, class: "asap-empty", text: "waiting for proposals…" })));
  table.append(body);
  return table;
}

function decision(rv) {
  const sel = rv.selection;
  if (!sel) return h("div", { class: "asap-decision asap-empty", text: "deciding…" });
  const meta = [];
  if (sel.llm_s !== null && sel.llm_s !== undefined) meta.push(`LLM ${secs(sel.llm_s)}`);
  if (sel.prompt_tokens) {
    meta.push(`prompt ${sel.prompt_tokens} tok, ${sel.cached_tokens} cached (${pct(sel.cached_tokens / sel.prompt_tokens)})`);
  }
  if (sel.backend) meta.push(sel.backend);
  if (sel.shortlisted) meta.push(`shortlist: ${sel.shortlisted.join(", ")}`);
  const res = rv.result;
  const outcome = !res ? h("span", { class: "asap-empty", text: "evaluating…" })
    : res.ok ? h("span", {}, "→ value ", h("b", { text: num(res.value) }), ` in ${secs(res.eval_s)}`)
      : h("span", { class: "asap-err", text: `→ failed: ${res.error}` });
  return h("div", { class: "asap-decision" },
    h("div", {}, "picked ", h("b", { class: "asap-pick", text: sel.pick }), " by ",
      h("span", { class: `asap-who ${whoClass(sel.who)}`, text: sel.who }), h("span", { class: "asap-sep-dot", text: "·" }), outcome),
    h("div", { class: "asap-rationale", text: sel.rationale || "(no rationale)" }),
    sel.fallback_reason ? h("div", { class: "asap-err", text: `fallback: ${sel.fallback_reason}` }) : null,
    meta.length ? h("div", { class: "asap-meta", text: meta.join(" · ") }) : null);
}

function timingBar(tm) {
  const wall = tm.wall_s || 0;
  const llm = tm.llm_s || 0;
  const parts = [
    ["eval", tm.eval_s || 0, "objective"],
    ["tools", tm.tools_s || 0, "tools ask+tell"],
    ["llm", llm, "LLM"],
    ["select", Math.max((tm.select_s || 0) - llm, 0), "selector"],
  ];
  const used = parts.reduce((s, p) => s + p[1], 0);
  parts.push(["other", Math.max(wall - used, 0), "other"]);
  const total = Math.max(wall, used, 1e-9);
  const bar = h("div", { class: "asap-stack" });
  const legend = h("div", { class: "asap-legend" });
  for (const [k, v, label] of parts) {
    if (v / total > 0.002) bar.append(h("span", { class: `seg seg-${k}`, style: `width:${((v / total) * 100).toFixed(2)}%`,
      title: `${label}: ${secs(v)}` }));
    legend.append(h("span", { class: "item" }, h("i", { class: `sw seg-${k}` }), `${label} ${secs(v)} (${pct(v / total)})`));
  }
  const foot = `wall ${secs(wall)} · exposed (not hidden behind an evaluation) ${secs(tm.exposed_s)}` +
    (tm.kv_hit_rate !== null && tm.kv_hit_rate !== undefined ? ` · KV hit rate ${pct(tm.kv_hit_rate)}` : "") +
    (tm.final ? "" : " · live");
  return h("div", { class: "asap-timing" }, h("div", { class: "asap-h", text: "where the wall-clock went" }),
    bar, legend, h("div", { class: "asap-meta", text: foot }));
}

function specSection(rows) {
  if (!rows.length) return null;
  const acc = rows.filter((r) => r.accepted).length;
  const saved = rows.reduce((s, r) => s + (r.saved_s || 0), 0);
  const table = h("table", { class: "asap-spec" },
    h("thead", {}, h("tr", {}, ...["round", "predicted", "actual", "e", "τ", "", "saved", "why"].map((t) => h("th", { text: t })))),
    h("tbody", {}, rows.slice(-8).reverse().map((r) => h("tr", { class: r.accepted ? "acc" : "rej", title: r.reason || "" },
      h("td", { text: r.number }), h("td", { class: "num", text: num(r.predicted) }),
      h("td", { class: "num", text: num(r.actual) }), h("td", { class: "num", text: num(r.e, 3) }),
      h("td", { class: "num", text: num(r.tau, 3) }),
      h("td", {}, h("span", { class: `asap-tag ${r.accepted ? "ok" : "err"}`, text: r.accepted ? "accepted" : "rejected" })),
      h("td", { class: "num", text: secs(r.saved_s) }),
      h("td", { class: "why", title: r.reason || "", text: r.accepted ? "e ≤ τ" : (r.reason || "") })))));
  return h("div", { class: "asap-section asap-spec-box" },
    h("div", { class: "asap-h", text: `speculation: ${acc}/${rows.length} accepted, ${secs(saved)} saved` }),
    h("div", { class: "asap-row" }, specChart(rows), table));
}

// ---- widget -------------------------------------------------------------------------------

function render({ model, el }) {
  const send = (msg) => model.send(msg);
  const root = h("div", { class: "asap-w" });
  const head = h("div", { class: "asap-head" });
  const tauInput = h("input", { class: "asap-tau", type: "number", step: "0.05", min: "0", placeholder: "τ" });
  const tauState = h("span", { class: "asap-meta asap-tau-state" });
  const btn = (cmd, text, title, extra = {}) => h("button", { class: "asap-btn", "data-cmd": cmd, title, text,
    onclick: () => send({ cmd, ...extra }) });
  const ctrl = h("div", { class: "asap-controls" },
    btn("pause", "Pause", "finish the evaluation under way, then wait"),
    btn("resume", "Resume", "go on"),
    btn("stop", "Stop", "record the evaluation under way, then end the run"),
    h("span", { class: "asap-sep" }),
    h("label", { class: "asap-meta", text: "speculation threshold" }), tauInput,
    h("button", { class: "asap-btn", "data-cmd": "freeze_tau", title: "fix τ (at the value typed, or where it is)",
      text: "Freeze τ", onclick: () => send({ cmd: "freeze_tau", tau: tauInput.value === "" ? null : Number(tauInput.value) }) }),
    btn("unfreeze_tau", "Unfreeze τ", "let the self-tuner adapt τ again"),
    tauState);
  const cfgInput = h("input", { class: "asap-config", type: "text", spellcheck: "false",
    placeholder: '{"x": 1.0, ...}  a configuration to evaluate next round (click a proposal to copy it)' });
  const cfgBox = h("div", { class: "asap-override" }, cfgInput,
    h("button", { class: "asap-btn", "data-cmd": "override_config", text: "Evaluate next round",
      onclick: () => send({ cmd: "override_config", config: cfgInput.value }) }));
  const nav = h("div", { class: "asap-nav" });
  const roundBox = h("div", { class: "asap-section asap-round" });
  const charts = h("div", { class: "asap-charts" });
  const legend = h("div", { class: "asap-legend asap-dot-legend" });
  const timing = h("div", { class: "asap-section" });
  const spec = h("div", {});
  const notices = h("ul", { class: "asap-notices" });
  root.append(head, ctrl, h("div", { class: "asap-section" }, nav, roundBox, cfgBox), charts, legend, spec, timing, notices);
  el.append(root);

  const fillConfig = (text) => { cfgInput.value = text; cfgInput.focus(); };
  const goto = (n) => { model.set("view_round", n); model.save_changes(); };

  function update() {
    const info = model.get("info") || {};
    const rv = model.get("round_view") || {};
    const trials = model.get("trials") || [];
    const canControl = model.get("controls") && info.live !== false;
    head.replaceChildren(...header(info));
    ctrl.style.display = model.get("controls") ? "" : "none";
    cfgBox.style.display = model.get("controls") ? "" : "none";
    for (const b of ctrl.querySelectorAll("button")) b.disabled = !canControl;
    cfgBox.querySelector("button").disabled = !canControl;
    const tau = info.tau || {};
    tauState.textContent = tau.frozen ? `τ frozen${tau.tau !== null && tau.tau !== undefined ? ` at ${num(tau.tau, 3)}` : ""}`
      : (tau.tau !== null && tau.tau !== undefined ? `τ ${num(tau.tau, 3)} (self-tuned)` : "τ not set");
    const view = model.get("view_round");
    const shown = rv.number;
    const first = info.first_round, last = info.round;
    nav.replaceChildren(
      h("span", { class: "asap-h", text: shown === undefined ? "round –" : `round ${shown}` }),
      h("button", { class: "asap-btn small", text: "◀", title: "previous round", disabled: shown === undefined || shown <= first,
        onclick: () => goto(shown - 1) }),
      h("button", { class: "asap-btn small", text: "▶", title: "next round", disabled: shown === undefined || shown >= last,
        onclick: () => goto(shown + 1) }),
      h("button", { class: `asap-btn small ${view === -1 ? "on" : ""}`, text: info.live === false ? "last" : "live",
        title: "follow the latest round", onclick: () => goto(-1) }));
    roundBox.replaceChildren(proposalTable(rv, canControl, send, fillConfig), decision(rv));
    if (!cfgInput.value && rv.proposals && rv.proposals.length) cfgInput.placeholder = (rv.proposals.find((p) => p.picked) || rv.proposals[0]).config + "  ← a configuration for next round";
    charts.replaceChildren(
      lineChart({ title: "best value vs trials", cls: "asap-chart-trials", pts: trials, xKey: "n", xLabel: "trial", direction: info.direction }),
      lineChart({ title: "best value vs wall-clock", cls: "asap-chart-wall", pts: trials, xKey: "t", xLabel: "wall-clock", direction: info.direction }),
      ...(trials.some((t) => t.kv_prompt > 0) ? [kvChart(trials)] : []));
    legend.replaceChildren(...legendItems(trials));
    const s = specSection(model.get("speculation") || []);
    spec.replaceChildren(...(s ? [s] : []));
    timing.replaceChildren(timingBar(model.get("timing") || {}));
    notices.replaceChildren(...(model.get("notices") || []).slice(-6).reverse().map((n) =>
      h("li", { class: `lvl-${n.level}`, text: n.text })));
  }

  const names = ["info", "round_view", "trials", "speculation", "timing", "notices", "view_round", "controls"];
  for (const n of names) model.on(`change:${n}`, update);
  update();
  return () => { for (const n of names) model.off(`change:${n}`, update); };
}

export default { render };
