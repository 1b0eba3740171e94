#include "dashboard_page.hpp"

#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/sha256.hpp"

namespace cipherline::client::internal {

namespace {

constexpr std::string_view kStyle = R"css(
:root {
  --bg: #f3f5f8; --card: #fff; --ink: #17202b; --muted: #5b6778; --line: #dfe4ea;
  --ok: #11703b; --ok-bg: #e5f4ea; --bad: #b3261e; --bad-bg: #fce9e7;
  --warn: #8a5a00; --warn-bg: #fff4d6; --accent: #2457c5;
  font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 14px; line-height: 1.4;
  color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px;
  padding: 12px 20px; background: #17202b; color: #fff; }
header h1 { font-size: 17px; margin: 0; font-weight: 600; }
header .sub { color: #c3cad4; font-size: 13px; overflow-wrap: anywhere; }
header .updated { margin-left: auto; color: #c3cad4; font-size: 12px; }
main { padding: 14px 20px 24px; max-width: 1400px; margin: 0 auto; }
.banner { display: flex; align-items: center; gap: 14px; padding: 12px 16px; border-radius: 8px;
  border: 1px solid var(--line); border-left-width: 8px; background: var(--card); margin-bottom: 14px; }
.banner .mark { font-size: 26px; font-weight: 700; width: 36px; height: 36px; border-radius: 50%;
  display: flex; align-items: center; justify-content: center; flex: none; color: #fff;
  background: var(--muted); }
.banner .title { font-size: 19px; font-weight: 700; }
.banner .detail { color: var(--muted); overflow-wrap: anywhere; }
.banner[data-state="verified"] { border-color: var(--ok); background: var(--ok-bg); }
.banner[data-state="verified"] .mark { background: var(--ok); }
.banner[data-state="verified"] .title { color: var(--ok); }
.banner[data-state="not-verified"] { border-color: var(--bad); background: var(--bad-bg); }
.banner[data-state="not-verified"] .mark { background: var(--bad); }
.banner[data-state="not-verified"] .title { color: var(--bad); }
.banner[data-state="unreachable"] { border-color: var(--warn); background: var(--warn-bg); }
.banner[data-state="unreachable"] .mark { background: var(--warn); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 14px;
  margin-bottom: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 16px; min-width: 0; }
.card + .card { margin-top: 0; }
main > .card { margin-bottom: 14px; }
h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); font-weight: 600; }
h2 .count { text-transform: none; letter-spacing: 0; font-weight: 400; }
h3 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); font-weight: 600; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.mono { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12px; }
.tiles { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.tile .n { font-size: 20px; font-weight: 700; }
.tile .l { color: var(--muted); font-size: 12px; }
.tile.bad .n { color: var(--bad); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td { overflow-wrap: anywhere; }
td.empty { color: var(--muted); font-style: italic; }
table.checks td:first-child { width: 24%; }
.verdict { font-weight: 700; white-space: nowrap; }
tr.pass .verdict { color: var(--ok); }
tr.fail td { background: var(--bad-bg); }
tr.fail .verdict { color: var(--bad); }
.status-2 { color: var(--ok); } .status-4 { color: var(--warn); } .status-5 { color: var(--bad); }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 14px; }
figure { margin: 0; }
figcaption { display: flex; justify-content: space-between; gap: 8px; color: var(--muted);
  font-size: 12px; margin-bottom: 2px; }
figcaption b { color: var(--ink); }
svg.plot { width: 100%; height: auto; display: block; }
svg.plot .grid-line { stroke: var(--line); stroke-width: 1; }
svg.plot .axis { fill: var(--muted); font-size: 11px; }
svg.plot .area { fill: #2457c533; stroke: none; }
svg.plot .line { fill: none; stroke: var(--accent); stroke-width: 1.5; }
svg.plot .dot { fill: var(--accent); }
details summary { cursor: pointer; color: var(--muted); }
pre { font-size: 11px; max-height: 420px; overflow: auto; background: var(--bg); padding: 8px;
  border-radius: 6px; }
.muted { color: var(--muted); }
@media (max-width: 700px) {
  header, main { padding-left: 10px; padding-right: 10px; }
  header .updated { margin-left: 0; }
  .grid, .plots { grid-template-columns: 1fr; }
  .tiles { grid-template-columns: repeat(2, 1fr); }
  dl.kv { grid-template-columns: 1fr; gap: 0; }
  dl.kv dd { margin-bottom: 6px; }
  table.stack thead { display: none; }
  table.stack tr { display: block; border-bottom: 1px solid var(--line); padding: 4px 0; }
  table.stack td { display: grid; grid-template-columns: 74px 1fr; gap: 8px; border: 0; padding: 2px 4px; }
  table.stack td::before { content: attr(data-label); color: var(--muted); font-size: 12px; }
  table.checks tr { display: grid; grid-template-columns: 1fr auto;
    grid-template-areas: "name verdict" "expected expected" "actual actual"; }
  table.checks td:nth-child(1) { grid-area: name; display: block; width: auto; font-weight: 600; }
  table.checks td:nth-child(2) { grid-area: expected; }
  table.checks td:nth-child(3) { grid-area: actual; }
  table.checks td:nth-child(4) { grid-area: verdict; display: block; }
  table.checks td:nth-child(1)::before, table.checks td:nth-child(4)::before { content: none; }
}
)css";

constexpr std::string_view kBody = R"html(
<header>
  <h1>cipherline proxy</h1>
  <span class="sub">attested backend <span id="endpoint" class="mono">…</span></span>
  <span class="updated" id="updated">not loaded yet</span>
</header>
<main>
<section class="banner" id="banner" data-state="loading" role="status" aria-live="polite">
  <div class="mark" id="banner-mark">…</div>
  <div><div class="title" id="banner-title">Loading the verification…</div>
  <div class="detail" id="banner-detail"></div></div>
</section>
<noscript><p>This page needs JavaScript: it reads /verification every two seconds.</p></noscript>
<div class="grid">
  <section class="card">
    <h2>Coordinator evidence</h2>
    <dl class="kv">
      <dt>Evidence type</dt><dd id="evidence-type">—</dd>
      <dt>Measurement</dt><dd id="measurement" class="mono">—</dd>
      <dt>Pinned manifest</dt><dd id="manifest" class="mono">—</dd>
      <dt>Capture</dt><dd id="capture" class="mono">—</dd>
    </dl>
    <h3>TCB</h3>
    <div class="scroll"><table><tbody id="tcb"></tbody></table></div>
  </section>
  <section class="card">
    <h2>Secret</h2>
    <dl class="kv">
      <dt>Secret ID</dt><dd id="secret-id" class="mono">—</dd>
      <dt>Age</dt><dd id="secret-age">—</dd>
      <dt>Next rotation</dt><dd id="secret-rotation">—</dd>
      <dt>Exchanges</dt><dd id="secret-exchanges">—</dd>
    </dl>
    <h3>Failures by reason</h3>
    <div class="scroll"><table><tbody id="failures"></tbody></table></div>
  </section>
  <section class="card">
    <h2>Traffic</h2>
    <div class="tiles">
      <div class="tile"><div class="n" id="n-requests">0</div><div class="l">requests</div></div>
      <div class="tile"><div class="n" id="n-streams">0</div><div class="l">streams</div></div>
      <div class="tile"><div class="n" id="n-tokens">0</div><div class="l">tokens (events)</div></div>
      <div class="tile" id="tile-failures"><div class="n" id="n-failures">0</div><div class="l">failures</div></div>
      <div class="tile"><div class="n" id="n-retries">0</div><div class="l">retries</div></div>
      <div class="tile"><div class="n" id="n-received">0</div><div class="l" id="n-sent">received</div></div>
    </div>
    <h3>Requests by route and status</h3>
    <div class="scroll"><table><thead><tr><th>Route</th><th>Status</th><th>Count</th></tr></thead>
      <tbody id="requests"></tbody></table></div>
  </section>
</div>
<section class="card">
  <h2>Last 10 minutes</h2>
  <div class="plots">
    <figure><figcaption><span><b>Request rate</b> (requests/s)</span><span id="rate-now"></span></figcaption>
      <svg class="plot" id="rate-plot" viewBox="0 0 600 170" role="img" aria-label="request rate"></svg></figure>
    <figure><figcaption><span><b>Token interval</b> (ms between stream events, mean per second)</span><span id="latency-now"></span></figcaption>
      <svg class="plot" id="latency-plot" viewBox="0 0 600 170" role="img" aria-label="token interval"></svg></figure>
  </div>
</section>
<section class="card">
  <h2>Checks <span class="count" id="check-summary"></span></h2>
  <div class="scroll"><table class="stack checks"><thead><tr><th>Check</th><th>Expected</th><th>Actual</th><th>Result</th></tr></thead>
    <tbody id="checks"></tbody></table></div>
</section>
<div class="grid">
  <section class="card">
    <h2>Manifest history</h2>
    <div class="scroll"><table class="stack" id="history"><thead></thead><tbody></tbody></table></div>
  </section>
  <section class="card">
    <h2>Last errors</h2>
    <div class="scroll"><table class="stack"><thead><tr><th>Time</th><th>Reason</th><th>Route</th></tr></thead>
      <tbody id="errors"></tbody></table></div>
  </section>
</div>
<section class="card">
  <details><summary>The Coordinator's full verification report (JSON)</summary><pre id="report"></pre></details>
</section>
</main>
)html";

constexpr std::string_view kScript = R"js(
'use strict';
const $ = (id) => document.getElementById(id);
// The SVG namespace, from an element the HTML parser made (no URL in this page).
const SVG = $('rate-plot').namespaceURI;

function show(id, value) {
  $(id).textContent = value === null || value === undefined || value === '' ? '—' : String(value);
}
function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
// fill: one row per item from `cells(item)` ([text, class?] pairs), or a
// single row saying `empty`; `labels` name the cells on narrow screens.
function fill(tbody, items, cells, empty, labels) {
  clear(tbody);
  if (items.length === 0) {
    const tr = el('tr');
    const td = el('td', empty, 'empty');
    td.colSpan = 8;
    tr.appendChild(td);
    tbody.appendChild(tr);
    return;
  }
  for (const item of items) {
    const tr = el('tr');
    cells(item, tr).forEach(([text, cls], i) => {
      const td = el('td', text, cls);
      if (labels && labels[i]) td.setAttribute('data-label', labels[i]);
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
  }
}
function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  return (h ? h + ' h ' : '') + (h || m ? m + ' min ' : '') + s + ' s';
}
function size(n) {
  if (n < 1024) return n + ' B';
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = -1;
  do { n /= 1024; ++i; } while (n >= 1024 && i < units.length - 1);
  return n.toFixed(n < 10 ? 1 : 0) + ' ' + units[i];
}
function count(n) { return Number(n).toLocaleString('en-US'); }
function sum(values) { return values.reduce((a, b) => a + b, 0); }

// A round upper bound for a plot's y axis.
function ceiling(max) {
  if (!(max > 0)) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * step >= max) return f * step;
  return 10 * step;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
// plot draws `values` (oldest first, one per second; null: no data) with
// the y axis from 0 to a round maximum and the x axis in minutes to now.
function plot(target, values, area) {
  clear(target);
  // Drawn at the size it is shown, so its text stays legible on a phone.
  const W = Math.max(280, Math.round(target.getBoundingClientRect().width) || 600);
  const H = 170, left = 44, right = 8, top = 8, bottom = 22;
  target.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  const w = W - left - right, h = H - top - bottom;
  const numbers = values.filter((v) => v !== null);
  const max = ceiling(numbers.length ? Math.max(...numbers) : 0);
  const x = (i) => left + (values.length > 1 ? (i * w) / (values.length - 1) : 0);
  const y = (v) => top + h - (v / max) * h;
  for (const f of [0, 0.5, 1]) {
    target.appendChild(svg('line', { x1: left, x2: W - right, y1: y(f * max), y2: y(f * max), class: 'grid-line' }));
    target.appendChild(svg('text', { x: left - 6, y: y(f * max) + 4, 'text-anchor': 'end', class: 'axis' },
                           String(Number((f * max).toPrecision(3)))));
  }
  const minutes = values.length / 60;
  for (const m of [minutes, minutes / 2, 0]) {
    const i = values.length - 1 - m * 60;
    target.appendChild(svg('text', { x: x(Math.max(i, 0)), y: H - 6, class: 'axis',
                                     'text-anchor': m === minutes ? 'start' : m === 0 ? 'end' : 'middle' },
                           m === 0 ? 'now' : '−' + m + ' min'));
  }
  let line = '', fillPath = '', run = [];
  const flush = () => {
    if (run.length === 1) {
      target.appendChild(svg('circle', { cx: x(run[0]), cy: y(values[run[0]]), r: 2, class: 'dot' }));
    } else if (run.length > 1) {
      const pts = run.map((i) => x(i).toFixed(1) + ',' + y(values[i]).toFixed(1));
      line += 'M' + pts.join('L');
      fillPath += 'M' + x(run[0]).toFixed(1) + ',' + y(0) + 'L' + pts.join('L') +
                  'L' + x(run[run.length - 1]).toFixed(1) + ',' + y(0) + 'Z';
    }
    run = [];
  };
  values.forEach((v, i) => { if (v === null) flush(); else run.push(i); });
  flush();
  if (area && fillPath) target.appendChild(svg('path', { d: fillPath, class: 'area' }));
  if (line) target.appendChild(svg('path', { d: line, class: 'line' }));
}

function render(v) {
  const banner = $('banner');
  banner.setAttribute('data-state', v.verified ? 'verified' : 'not-verified');
  $('banner-mark').textContent = v.verified ? '✓' : '✗';
  $('banner-title').textContent = v.verified ? 'Verified' : 'Not verified';
  const checks = v.coordinator ? v.coordinator.report.checks : [];
  $('banner-detail').textContent = v.verified
    ? 'The Coordinator passed all ' + checks.length + ' checks against the pinned manifest; ' +
      'requests are encrypted to the secret exchanged with the attested backend.'
    : v.failure;
  show('endpoint', v.endpoint);
  const c = v.coordinator;
  show('evidence-type', c && c.evidence_type);
  show('measurement', c && c.measurement);
  show('manifest', v.manifest_sha256);
  show('capture', v.capture_id);
  const tcb = c ? Object.entries(c.tcb) : [];
  fill($('tcb'), tcb, ([k, val]) => [[k, 'muted'], [val, 'mono']], 'no TCB claims');

  const s = v.secret;
  show('secret-id', s && s.id);
  show('secret-age', s ? duration(s.age_seconds) : null);
  show('secret-rotation', s ? (s.next_rotation_seconds > 0 ? 'in ' + duration(s.next_rotation_seconds) : 'due now') : null);
  show('secret-exchanges', s && s.exchanges);

  const k = v.counters;
  const failures = Object.entries(k.failures);
  $('n-requests').textContent = count(sum(k.requests.map((r) => r.count)));
  $('n-streams').textContent = count(k.streams);
  $('n-tokens').textContent = count(k.events);
  $('n-failures').textContent = count(sum(failures.map(([, n]) => n)));
  $('tile-failures').className = failures.length ? 'tile bad' : 'tile';
  $('n-retries').textContent = count(k.retries);
  $('n-received').textContent = size(k.bytes_decrypted);
  $('n-sent').textContent = 'decrypted; ' + size(k.bytes_encrypted) + ' encrypted';
  fill($('requests'), k.requests, (r) => [[r.route, 'mono'], [r.status, 'status-' + String(r.status)[0]], [count(r.count)]],
       'no requests yet', ['Route', 'Status', 'Count']);
  fill($('failures'), failures, ([reason, n]) => [[reason], [count(n)]], 'none');

  const passed = checks.filter((x) => x.passed).length;
  $('check-summary').textContent = checks.length ? '(' + passed + ' of ' + checks.length + ' passed)' : '';
  fill($('checks'), checks, (x, tr) => {
    tr.className = x.passed ? 'pass' : 'fail';
    tr.setAttribute('data-check', x.name);
    return [[x.name], [x.expected, 'mono'], [x.actual, 'mono'], [x.passed ? 'PASS' : 'FAIL', 'verdict']];
  }, c ? 'the report has no checks' : 'no attestation yet', ['Check', 'Expected', 'Actual', 'Result']);

  const history = v.manifest_history;
  const columns = [];
  for (const entry of history) for (const key of Object.keys(entry)) if (!columns.includes(key)) columns.push(key);
  const head = $('history').tHead;
  clear(head);
  const hr = el('tr');
  for (const col of columns.length ? columns : ['Manifest']) hr.appendChild(el('th', col));
  head.appendChild(hr);
  fill($('history').tBodies[0], history,
       (entry) => columns.map((col) => [typeof entry[col] === 'object' ? JSON.stringify(entry[col]) : entry[col], 'mono']),
       'no manifest changes recorded', columns);

  fill($('errors'), v.last_errors.slice().reverse(), (e) => [[e.time.replace('T', ' ').replace('Z', ' UTC'), 'mono'], [e.reason], [e.route || '(verification)', 'mono']],
       'no errors', ['Time', 'Reason', 'Route']);

  const series = v.series;
  const rate = series.requests_per_second;
  plot($('rate-plot'), rate, true);
  const recent = rate.slice(-10);
  $('rate-now').textContent = (sum(recent) / recent.length).toFixed(1) + ' req/s (last 10 s)';
  const latency = series.token_interval_ms;
  plot($('latency-plot'), latency, false);
  const last = latency.filter((x) => x !== null).slice(-1)[0];
  $('latency-now').textContent = last === undefined ? 'no streams yet' : last.toFixed(2) + ' ms (latest)';

  $('report').textContent = c ? JSON.stringify(c.report, null, 2) : 'no attestation yet';
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString('en-GB');
}

function unreachable(why) {
  $('banner').setAttribute('data-state', 'unreachable');
  $('banner-mark').textContent = '!';
  $('banner-title').textContent = 'Proxy unreachable';
  $('banner-detail').textContent = String(why);
}

async function refresh() {
  try {
    const r = await fetch('/verification', { cache: 'no-store' });
    if (!r.ok) throw new Error('/verification answered ' + r.status);
    render(await r.json());
  } catch (e) {
    unreachable(e && e.message ? e.message : e);
  } finally {
    setTimeout(refresh, 2000);
  }
}
refresh();
)js";

std::string base64_sha256(std::string_view text) {
  return crypto::to_base64(crypto::sha256(std::as_bytes(std::span(text.data(), text.size()))));
}

}  // namespace

std::string_view dashboard_page() {
  static const std::string page = [] {
    std::string p =
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>cipherline proxy: verification</title>\n<style>";
    p += kStyle;
    p += "</style>\n</head>\n<body>";
    p += kBody;
    p += "<script>";
    p += kScript;
    p += "</script>\n</body>\n</html>\n";
    return p;
  }();
  return page;
}

std::string_view dashboard_csp() {
  static const std::string csp = "default-src 'none'; script-src 'sha256-" +
                                 base64_sha256(kScript) + "'; style-src 'sha256-" +
                                 base64_sha256(kStyle) +
                                 "'; connect-src 'self'; img-src 'none'; base-uri 'none'; "
                                 "form-action 'none'; frame-ancestors 'none'";
  return csp;
}

}  // namespace cipherline::client::internal
