// adstream's own chart script: draws a run's timeline (timeline.json, see report/timeline.rs) as SVG
// charts and tables. No library, nothing fetched but the timeline itself. The live page polls
// `timeline.json` once a second; report.html carries its timeline inline (ADSTREAM_TIMELINE) and
// draws it once.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
  const W = 640, H = 220, M = { l: 58, r: 150, t: 24, b: 34 };

  function svg(tag, attrs, parent, text) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  function set(id, value) {
    const e = document.getElementById(id);
    if (e) e.textContent = value === null || value === undefined ? "—" : String(value);
  }

  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(v % 1e6 === 0 ? 0 : 1) + "M";
    if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(v % 1e3 === 0 ? 0 : 1) + "k";
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(Math.abs(v) < 10 ? 2 : 0);
  }

  // Ticks at 1, 2 or 5 × a power of ten, about `n` of them.
  function ticks(lo, hi, n) {
    if (!(hi > lo)) hi = lo + 1;
    const raw = (hi - lo) / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(m => m * p).find(s => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
    return out;
  }

  // A chart of `series` ([{name, points: [[x, y]], dash, marker}]) over x in seconds, with the run's
  // marks as vertical lines; the y axis is logarithmic when the values span more than two decades.
  function lineChart(id, title, yLabel, series, marks, opts) {
    const box = document.getElementById(id);
    if (!box) return;
    box.textContent = "";
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" }, box);
    svg("text", { x: M.l, y: 15, class: "title" }, s, title);
    const all = series.flatMap(x => x.points);
    const xs = all.map(p => p[0]).concat((marks || []).map(m => m.t_ms / 1000));
    const ys = all.map(p => p[1]).filter(v => v !== null && isFinite(v));
    const xMax = Math.max(1, ...xs, opts && opts.xMax || 0);
    const positive = ys.filter(v => v > 0);
    const log = !(opts && opts.linear) && positive.length > 1 && Math.max(...positive) / Math.min(...positive) > 100;
    let yLo = 0, yHi = Math.max(1, ...ys, opts && opts.yRef || 0) * 1.08;
    if (log) { yLo = Math.pow(10, Math.floor(Math.log10(Math.min(...positive)))); yHi = Math.pow(10, Math.ceil(Math.log10(yHi))); }
    const px = x => M.l + (x / xMax) * (W - M.l - M.r);
    const py = y => {
      if (log) { const v = Math.max(y, yLo); return H - M.b - (Math.log10(v / yLo) / Math.log10(yHi / yLo)) * (H - M.t - M.b); }
      return H - M.b - ((y - yLo) / (yHi - yLo)) * (H - M.t - M.b);
    };
    const yTicks = log ? decades(yLo, yHi) : ticks(yLo, yHi, 4);
    for (const v of yTicks) {
      svg("line", { x1: M.l, x2: W - M.r, y1: py(v), y2: py(v), class: "grid" }, s);
      svg("text", { x: M.l - 6, y: py(v) + 4, class: "tick", "text-anchor": "end" }, s, fmt(v));
    }
    for (const v of ticks(0, xMax, 6)) {
      svg("text", { x: px(v), y: H - M.b + 14, class: "tick", "text-anchor": "middle" }, s, fmt(v));
    }
    svg("text", { x: (M.l + W - M.r) / 2, y: H - 4, class: "axis", "text-anchor": "middle" }, s, "seconds since the producers started");
    svg("text", { x: 12, y: (M.t + H - M.b) / 2, class: "axis", "text-anchor": "middle", transform: `rotate(-90 12 ${(M.t + H - M.b) / 2})` }, s, yLabel + (log ? " (log)" : ""));
    svg("rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, class: "frame" }, s);
    for (const m of marks || []) {
      const x = px(m.t_ms / 1000);
      const line = svg("line", { x1: x, x2: x, y1: M.t, y2: H - M.b, class: "mark " + m.kind }, s);
      svg("title", {}, line, `${fmt(m.t_ms / 1000)} s: ${m.label}`);
    }
    if (opts && opts.yRef) {
      svg("line", { x1: M.l, x2: W - M.r, y1: py(opts.yRef), y2: py(opts.yRef), class: "ref" }, s);
    }
    series.forEach((ser, i) => {
      const color = COLORS[i % COLORS.length];
      const known = p => p[1] !== null && p[1] !== undefined && isFinite(p[1]);
      const pts = ser.points.filter(known);
      // A value not known (a restarted job's first second, say) breaks the line: nothing is drawn
      // across it.
      const segments = [[]];
      for (const p of ser.points) {
        if (known(p)) segments[segments.length - 1].push(p);
        else if (segments[segments.length - 1].length) segments.push([]);
      }
      for (const seg of segments.filter(g => g.length > 1)) {
        svg("polyline", { points: seg.map(p => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(" "), fill: "none", stroke: color, "stroke-width": 1.8, "stroke-dasharray": ser.dash || "" }, s);
      }
      if (ser.marker || pts.length === 1) {
        for (const p of pts) svg("circle", { cx: px(p[0]), cy: py(p[1]), r: 2.6, fill: color }, s);
      }
      const ly = M.t + 12 + i * 16;
      svg("line", { x1: W - M.r + 10, x2: W - M.r + 30, y1: ly - 4, y2: ly - 4, stroke: color, "stroke-width": 2, "stroke-dasharray": ser.dash || "" }, s);
      svg("text", { x: W - M.r + 34, y: ly, class: "legend" }, s, ser.name);
    });
    let ly = M.t + 12 + series.length * 16;
    if (opts && opts.yRef) {
      svg("line", { x1: W - M.r + 10, x2: W - M.r + 30, y1: ly - 4, y2: ly - 4, class: "ref" }, s);
      svg("text", { x: W - M.r + 34, y: ly, class: "legend" }, s, opts.refName);
      ly += 16;
    }
    if ((marks || []).length) {
      svg("line", { x1: W - M.r + 10, x2: W - M.r + 30, y1: ly - 4, y2: ly - 4, class: "mark fault" }, s);
      svg("text", { x: W - M.r + 34, y: ly, class: "legend" }, s, "faults, restarts");
    }
  }

  function decades(lo, hi) {
    const out = [];
    for (let v = lo; v <= hi * 1.0001; v *= 10) out.push(v);
    return out;
  }

  function histogram(id, buckets) {
    const box = document.getElementById(id);
    if (!box) return;
    box.textContent = "";
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" }, box);
    svg("text", { x: M.l, y: 15, class: "title" }, s, "End-to-end latency of the final results so far");
    if (!buckets.length) return;
    const xMax = Math.max(...buckets.map(b => b[0])), yMax = Math.max(1, ...buckets.map(b => b[1]));
    const px = x => M.l + (x / xMax) * (W - M.l - M.r), py = y => H - M.b - (y / yMax) * (H - M.t - M.b);
    let prev = 0;
    for (const [upper, count] of buckets) {
      if (count > 0) svg("rect", { x: px(prev), y: py(count), width: Math.max(1, px(upper) - px(prev) - 1), height: H - M.b - py(count), fill: COLORS[0] }, s);
      prev = upper;
    }
    for (const v of ticks(0, yMax, 4)) svg("text", { x: M.l - 6, y: py(v) + 4, class: "tick", "text-anchor": "end" }, s, fmt(v));
    for (const v of ticks(0, xMax, 6)) svg("text", { x: px(v), y: H - M.b + 14, class: "tick", "text-anchor": "middle" }, s, fmt(v));
    svg("text", { x: (M.l + W - M.r) / 2, y: H - 4, class: "axis", "text-anchor": "middle" }, s, "ms");
    svg("text", { x: 12, y: (M.t + H - M.b) / 2, class: "axis", "text-anchor": "middle", transform: `rotate(-90 12 ${(M.t + H - M.b) / 2})` }, s, "results");
    svg("rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, class: "frame" }, s);
  }

  function windowsTable(tl) {
    const body = document.getElementById("live-windows");
    if (!body) return;
    body.textContent = "";
    for (const w of Object.values(tl.windows)) {
      const tr = document.createElement("tr");
      tr.id = "window-" + w.window;
      for (const v of [w.window, fmt(w.t_ms / 1000), w.campaigns, w.latency_ms, w.broker_ms, w.job_ms]) {
        const td = document.createElement("td");
        td.textContent = v === null || v === undefined ? "—" : String(v);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
  }

  function render(tl) {
    const samples = tl.samples || [];
    const last = samples[samples.length - 1] || {};
    const cpuNames = [...new Set(samples.flatMap(x => Object.keys(x.cpu_s || {})))].sort();
    set("live-title", tl.title);
    set("live-phase", tl.phase);
    set("live-elapsed", last.t_ms === undefined ? null : fmt(last.t_ms / 1000) + " s");
    set("live-sent", last.sent);
    set("live-processed", last.processed);
    set("live-windows-count", Object.keys(tl.windows || {}).length);
    set("live-lag", last.lag);
    set("live-event-time-lag", last.event_time_lag_ms);
    set("live-checkpoints", last.checkpoints);
    set("live-restarts", (tl.marks || []).filter(m => m.kind === "restart").length);
    set("live-p50", fmt(tl.latency.p50));
    set("live-p90", fmt(tl.latency.p90));
    set("live-p99", fmt(tl.latency.p99));
    const settled = tl.settled;
    const done = document.getElementById("live-settled");
    if (done) done.hidden = !settled;
    if (settled) {
      set("live-settled-processed", settled.processed);
      set("live-settled-windows", settled.windows);
      set("live-settled-p90", settled.latency.p90);
      set("live-settled-verdict", settled.verdict);
    }
    const marks = tl.marks || [];
    const xMax = (last.t_ms || 0) / 1000;
    lineChart("chart-rate", "Events per second", "events/s", [
      { name: "sent", points: samples.map(x => [x.t_ms / 1000, x.sent_per_s]) },
      { name: "processed", points: samples.map(x => [x.t_ms / 1000, x.processed_per_s]), dash: "5 3" },
    ], marks, { xMax, linear: true, yRef: tl.offered_rate, refName: "offered " + fmt(tl.offered_rate) + "/s" });
    lineChart("chart-lag", "Consumer lag: records not yet read by the job", "records", [
      { name: "lag", points: samples.map(x => [x.t_ms / 1000, x.lag]) },
    ], marks, { xMax, linear: true });
    lineChart("chart-event-time", "The job's event time behind the wall clock", "ms", [
      { name: "event-time lag", points: samples.map(x => [x.t_ms / 1000, x.event_time_lag_ms]) },
    ], marks, { xMax, linear: true });
    const ws = Object.values(tl.windows || {});
    lineChart("chart-windows", "Each window's latency as its results arrive", "ms", [
      { name: "end to end (max)", points: ws.map(w => [w.t_ms / 1000, w.latency_ms]), marker: true },
      { name: "broker (p90)", points: ws.map(w => [w.t_ms / 1000, w.broker_ms]), marker: true, dash: "4 3" },
      { name: "job's share", points: ws.map(w => [w.t_ms / 1000, w.job_ms]), marker: true, dash: "1 3" },
    ], marks, { xMax });
    histogram("chart-distribution", tl.distribution || []);
    lineChart("chart-cpu", "CPU by process", "cores", cpuNames.map((name, i) => ({
      name, dash: i % 2 ? "5 3" : "",
      points: (() => {
        const out = [];
        for (let j = 1; j < samples.length; j++) {
          const a = samples[j - 1], b = samples[j], dt = (b.t_ms - a.t_ms) / 1000;
          if (dt > 0 && a.cpu_s[name] !== undefined && b.cpu_s[name] !== undefined) out.push([b.t_ms / 1000, Math.max(0, b.cpu_s[name] - a.cpu_s[name]) / dt]);
        }
        return out;
      })(),
    })), marks, { xMax, linear: true });
    lineChart("chart-checkpoints", "Checkpoints taken", "checkpoints", [
      { name: "checkpoints", points: samples.map(x => [x.t_ms / 1000, x.checkpoints]) },
    ], marks, { xMax, linear: true });
    windowsTable(tl);
    const marksList = document.getElementById("live-marks");
    if (marksList) {
      marksList.textContent = "";
      for (const m of marks) {
        const li = document.createElement("li");
        li.textContent = `${fmt(m.t_ms / 1000)} s — ${m.kind}: ${m.label}`;
        marksList.appendChild(li);
      }
    }
    const config = document.getElementById("live-configuration");
    if (config && !config.textContent) config.textContent = JSON.stringify(tl.configuration, null, 2);
  }

  if (window.ADSTREAM_TIMELINE) {
    render(window.ADSTREAM_TIMELINE);
    return;
  }
  let failures = 0;
  function poll() {
    fetch("timeline.json", { cache: "no-store" })
      .then(r => r.json())
      .then(tl => { failures = 0; set("live-connection", "live"); render(tl); })
      .catch(() => { failures += 1; if (failures > 2) set("live-connection", "the harness has ended: its report.html holds the run"); })
      .finally(() => setTimeout(poll, 1000));
  }
  poll();
})();
