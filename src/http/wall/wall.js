// The SoftACD supervisor wall (issue 6): polls GET /api/queues and
// GET /api/agents once a second and redraws two tables. Each queue has an
// inline-SVG chart of "waiting" since the page opened: one point per 10 s,
// at most 360 points (one hour). Server data is only ever written with
// textContent or as SVG attribute numbers, never parsed as HTML.
"use strict";

const REFRESH_MS = 1000;
const FETCH_TIMEOUT_MS = 2500;
const SAMPLE_MS = 10000;
const MAX_POINTS = 360;
const CHART_W = 180;
const CHART_H = 36;
const SVG_NS = "http://www.w3.org/2000/svg";

const history = new Map(); // queue name -> [waiting, ...], oldest first
let lastSample = -Infinity;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function duration(s) {
  if (typeof s !== "number" || !Number.isFinite(s)) return "—";
  const m = Math.floor(s / 60);
  const r = Math.floor(s % 60);
  return m + ":" + String(r).padStart(2, "0");
}

async function getJson(path) {
  const res = await fetch(path, { cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!res.ok) throw new Error(path + " answered " + res.status);
  const body = await res.json();
  if (!Array.isArray(body)) throw new Error(path + " did not answer a list");
  return body;
}

function sample(queues, now) {
  if (now - lastSample < SAMPLE_MS) return;
  lastSample = now;
  for (const q of queues) {
    const points = history.get(q.name) || [];
    points.push(Number(q.waiting) || 0);
    while (points.length > MAX_POINTS) points.shift();
    history.set(q.name, points);
  }
}

function chart(points) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", `0 0 ${CHART_W} ${CHART_H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.dataset.points = String(points.length);
  svg.dataset.last = points.length ? String(points[points.length - 1]) : "";
  const title = document.createElementNS(SVG_NS, "title");
  title.textContent = "waiting, one point per 10 s: " + points.join(" ");
  svg.appendChild(title);
  const max = Math.max(1, ...points);
  const step = CHART_W / (MAX_POINTS - 1);
  const coords = points.map((v, i) => {
    const x = (i * step).toFixed(1);
    const y = (CHART_H - 2 - (v / max) * (CHART_H - 4)).toFixed(1);
    return x + "," + y;
  });
  const line = document.createElementNS(SVG_NS, "polyline");
  line.setAttribute("points", coords.join(" "));
  svg.appendChild(line);
  return svg;
}

function queueRow(q) {
  const tr = el("tr");
  tr.dataset.queue = String(q.name);
  tr.append(
    el("td", q.name, "name"),
    el("td", q.waiting, "num waiting"),
    el("td", duration(q.longest_wait_s), "num longest"),
    el("td", q.ewt_s === null || q.ewt_s === undefined ? "—" : duration(q.ewt_s), "num ewt"),
    el("td", q.agents_free + " / " + q.agents_busy, "num agents"),
    el("td", duration(q.aht_s), "num aht")
  );
  const cell = el("td", undefined, "chart");
  cell.appendChild(chart(history.get(q.name) || []));
  tr.appendChild(cell);
  return tr;
}

function statusText(status) {
  const name = status && status.status ? String(status.status) : "unknown";
  return status && status.reason ? name + ": " + status.reason : name;
}

function contactText(a) {
  const c = a.contact;
  if (c) {
    return "#" + c.contact + " " + c.caller + (c.queue ? " (" + c.queue + ")" : "");
  }
  return a.state && a.state.contact !== undefined ? "#" + a.state.contact : "";
}

function agentRow(a) {
  const tr = el("tr");
  tr.dataset.agent = String(a.id);
  tr.dataset.status = a.status && a.status.status ? String(a.status.status) : "";
  tr.dataset.state = a.state && a.state.state ? String(a.state.state) : "";
  tr.append(
    el("td", a.id, "id"),
    el("td", statusText(a.status), "status"),
    el("td", tr.dataset.state, "state"),
    el("td", a.device, "device"),
    el("td", contactText(a), "contact")
  );
  return tr;
}

function showError(message) {
  const banner = document.getElementById("error");
  banner.textContent = "API unreachable: " + message;
  banner.hidden = false;
}

function showUpdated(now) {
  const banner = document.getElementById("error");
  banner.hidden = true;
  banner.textContent = "";
  const t = document.getElementById("updated");
  t.dateTime = new Date(now).toISOString();
  t.textContent = new Date(now).toLocaleTimeString();
}

async function refresh() {
  try {
    const [queues, agents] = await Promise.all([getJson("/api/queues"), getJson("/api/agents")]);
    const now = Date.now();
    sample(queues, now);
    document.querySelector("#queues tbody").replaceChildren(...queues.map(queueRow));
    document.querySelector("#agents tbody").replaceChildren(...agents.map(agentRow));
    showUpdated(now);
  } catch (e) {
    showError(e && e.message ? e.message : String(e));
  }
}

async function loop() {
  await refresh();
  setTimeout(loop, REFRESH_MS);
}

loop();
