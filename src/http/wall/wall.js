// The SoftACD supervisor wall (issue 6). Asks GET /api/session first: a
// supervisor who is not signed in gets the sign-in form (POST /api/login;
// the session cookie is HttpOnly, the page never sees it). Signed in (or
// when the server runs without admin auth), it polls GET /api/queues,
// GET /api/agents and GET /api/stats/history once a second and redraws two
// tables. Each queue has two inline-SVG charts over the last hour, one
// point per minute from the server's history (so a reload keeps them):
// contacts waiting and service level. Server data is only ever written
// with textContent or as SVG attribute numbers, never parsed as HTML.
"use strict";

const REFRESH_MS = 1000;
const FETCH_TIMEOUT_MS = 2500;
const MAX_POINTS = 60;
const CHART_W = 180;
const CHART_H = 36;
const SVG_NS = "http://www.w3.org/2000/svg";

// Bumped on sign-in and sign-out so an old polling loop stops.
let generation = 0;

class Unauthorized extends Error {}

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

function percent(p) {
  return typeof p === "number" && Number.isFinite(p) ? p + "%" : "—";
}

async function getJson(path) {
  const res = await fetch(path, { cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (res.status === 401) throw new Unauthorized(path + " needs a sign-in");
  if (!res.ok) throw new Error(path + " answered " + res.status);
  return res.json();
}

async function getList(path) {
  const body = await getJson(path);
  if (!Array.isArray(body)) throw new Error(path + " did not answer a list");
  return body;
}

// values: numbers or null (no figure that minute); max: the top of the scale.
function chart(values, max, cls, label) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "chart " + cls);
  svg.setAttribute("viewBox", `0 0 ${CHART_W} ${CHART_H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const known = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  svg.dataset.points = String(values.length);
  svg.dataset.last = known.length ? String(known[known.length - 1]) : "";
  const title = document.createElementNS(SVG_NS, "title");
  title.textContent = label + ", one point per minute: " + values.map((v) => (v === null ? "-" : v)).join(" ");
  svg.appendChild(title);
  const top = Math.max(1, max, ...known);
  const step = CHART_W / (MAX_POINTS - 1);
  const offset = MAX_POINTS - values.length;
  const coords = [];
  values.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) return;
    const x = ((offset + i) * step).toFixed(1);
    const y = (CHART_H - 2 - (v / top) * (CHART_H - 4)).toFixed(1);
    coords.push(x + "," + y);
  });
  const line = document.createElementNS(SVG_NS, "polyline");
  line.setAttribute("points", coords.join(" "));
  svg.appendChild(line);
  return svg;
}

function queueRow(q, minutes) {
  const tr = el("tr");
  tr.dataset.queue = String(q.name);
  tr.append(
    el("td", q.name, "name"),
    el("td", q.waiting, "num waiting"),
    el("td", duration(q.longest_wait_s), "num longest"),
    el("td", q.ewt_s === null || q.ewt_s === undefined ? "—" : duration(q.ewt_s), "num ewt"),
    el("td", q.agents_free + " / " + q.agents_busy, "num agents"),
    el("td", duration(q.aht_s), "num aht"),
    el("td", q.offered, "num offered"),
    el("td", q.answered, "num answered"),
    el("td", q.abandoned, "num abandoned"),
    el("td", percent(q.service_level_pct), "num sl")
  );
  const waiting = minutes.map((m) => Number(m.waiting) || 0);
  const sl = minutes.map((m) => (typeof m.service_level_pct === "number" ? m.service_level_pct : null));
  const wcell = el("td", undefined, "chart waiting-chart");
  wcell.appendChild(chart(waiting, 1, "waiting", "waiting"));
  const scell = el("td", undefined, "chart sl-chart");
  scell.appendChild(chart(sl, 100, "sl", "service level %"));
  tr.append(wcell, scell);
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

function minutesByQueue(history) {
  const byName = new Map();
  for (const q of Array.isArray(history.queues) ? history.queues : []) {
    byName.set(String(q.name), Array.isArray(q.minutes) ? q.minutes : []);
  }
  return byName;
}

async function refresh() {
  const [queues, agents, history] = await Promise.all([
    getList("/api/queues"),
    getList("/api/agents"),
    getJson("/api/stats/history?minutes=" + MAX_POINTS),
  ]);
  const now = Date.now();
  const minutes = minutesByQueue(history);
  document.querySelector("#queues tbody").replaceChildren(...queues.map((q) => queueRow(q, minutes.get(q.name) || [])));
  document.querySelector("#agents tbody").replaceChildren(...agents.map(agentRow));
  showUpdated(now);
}

async function loop(gen) {
  if (gen !== generation) return;
  try {
    await refresh();
  } catch (e) {
    if (e instanceof Unauthorized) {
      showLogin("");
      return;
    }
    showError(e && e.message ? e.message : String(e));
  }
  setTimeout(() => loop(gen), REFRESH_MS);
}

function showLogin(message) {
  generation += 1;
  document.getElementById("wall").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").hidden = true;
  document.getElementById("login").hidden = false;
  const err = document.getElementById("login-error");
  err.textContent = message;
  err.hidden = message === "";
}

function showWall(who) {
  generation += 1;
  document.getElementById("login").hidden = true;
  document.getElementById("wall").hidden = false;
  const signedIn = who && who.auth === "required";
  const name = document.getElementById("who");
  name.textContent = signedIn ? String(who.user) + " (" + String(who.role) + ")" : "";
  name.hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  loop(generation);
}

async function start() {
  try {
    const who = await getJson("/api/session");
    showWall(who);
  } catch (e) {
    if (e instanceof Unauthorized) {
      showLogin("");
      return;
    }
    showError(e && e.message ? e.message : String(e));
    setTimeout(start, REFRESH_MS);
  }
}

async function signIn(event) {
  event.preventDefault();
  const user = document.getElementById("login-user").value;
  const password = document.getElementById("login-password").value;
  try {
    const res = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user, password }),
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS * 4),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      showLogin(typeof body.error === "string" ? body.error : "sign-in failed (" + res.status + ")");
      return;
    }
    document.getElementById("login-password").value = "";
    showWall({ auth: "required", user: body.user, role: body.role });
  } catch (e) {
    showLogin("sign-in failed: " + (e && e.message ? e.message : String(e)));
  }
}

async function signOut() {
  try {
    await fetch("/api/logout", { method: "POST", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } finally {
    showLogin("");
  }
}

document.getElementById("login-form").addEventListener("submit", signIn);
document.getElementById("signout").addEventListener("click", signOut);
start();
