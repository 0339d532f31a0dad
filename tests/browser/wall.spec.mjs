// The supervisor wall in a real browser (issue 6): drives /wall in the
// system Chromium through playwright-core (no browser download). Run by
// tests/wall_browser.rs, which starts softacd with the queues named here:
//
//   WALL_USER=… WALL_PASSWORD=… WALL_TOKEN=… \
//   node tests/browser/wall.spec.mjs http://127.0.0.1:PORT/wall support,sales [agents|caller|service]
//
// Every mode first signs in as the supervisor WALL_USER: the page shows its
// sign-in form; a wrong password shows an error and keeps the form; the
// right one (retried while the server throttles after the wrong one) shows
// the wall. Admin calls of the spec itself carry `Bearer WALL_TOKEN`.
//
// agents mode: the page lists every configured queue with nothing offered
// or abandoned and charts drawn from GET /api/stats/history (one point per
// minute); agent 1002 signs in on a SIP URI and gets ready through the HTTP
// API and the agents table shows it available / idle; it takes a break
// "lunch" and the table shows the reason; the API failing shows the error
// banner, which goes away when it answers again.
// caller mode only watches queue "support" while the Rust test's SIPp
// caller waits there: waiting goes 0 → 1 → 0 (the queue's max wait ends it).
// service mode watches "support" while the Rust test's SIPp callers come:
// one hangs up while queued (abandoned 1, no service level yet), one is
// answered by a SIPp seat phone (answered 1, service level 100%, the
// service-level chart's last point 100); after a reload the counts and the
// charts are still there (they come from the server, not the page).
// Lines on stdout start with "wall: "; any failed expectation prints
// "wall: FAILED" with the page text and exits 1.
import { runInChromium } from "./chromium.mjs";

const url = process.argv[2];
if (!url || !/^http:\/\/127\.\d+\.\d+\.\d+:\d+\/wall$/.test(url)) {
  console.error("usage: node wall.spec.mjs http://127.0.0.1:PORT/wall QUEUE,QUEUE (loopback only)");
  process.exit(2);
}
const queues = (process.argv[3] || "").split(",").filter((q) => q !== "");
if (queues.length === 0) {
  console.error("name the configured queues");
  process.exit(2);
}
const mode = process.argv[4] || "agents";
if (!["agents", "caller", "service"].includes(mode)) {
  console.error("unknown mode " + mode);
  process.exit(2);
}
const api = new URL(url).origin;
const AGENT = "1002";
const DEVICE = "sip:1002@127.0.0.1:5999";
const STEP_TIMEOUT = 5_000;
const USER = process.env.WALL_USER || "";
const PASSWORD = process.env.WALL_PASSWORD || "";
const TOKEN = process.env.WALL_TOKEN || "";
if (!USER || !PASSWORD || !TOKEN) {
  console.error("set WALL_USER, WALL_PASSWORD and WALL_TOKEN");
  process.exit(2);
}

function step(text) {
  console.log("wall: " + text);
}

function expect(cond, what) {
  if (!cond) {
    throw new Error("expectation failed: " + what);
  }
}

async function post(path, body) {
  const init = { method: "POST", signal: AbortSignal.timeout(STEP_TIMEOUT) };
  init.headers = { Authorization: "Bearer " + TOKEN };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(api + path, init);
  const text = await res.text();
  expect(res.ok, `POST ${path} answered ${res.status} ${text}`);
}

async function agentRow(page, status, state) {
  await page.waitForFunction(
    ([id, st, sa]) => {
      const tr = document.querySelector(`#agents tr[data-agent="${id}"]`);
      return tr !== null && tr.dataset.status === st && tr.dataset.state === sa;
    },
    [AGENT, status, state],
    { timeout: STEP_TIMEOUT }
  );
  return page.locator(`#agents tr[data-agent="${AGENT}"] td`).allTextContents();
}

async function chartPoints(page) {
  return page.$$eval("#queues tr[data-queue]", (rows) =>
    rows.map((tr) => [tr.dataset.queue, Number(tr.querySelector("svg.chart.waiting").dataset.points)])
  );
}

async function loginError(page) {
  await page.locator("#login-error").waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  return page.locator("#login-error").textContent();
}

// The sign-in form: a wrong password first, then the right one.
async function signIn(page) {
  await page.goto(url);
  await page.locator("#login").waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  expect(await page.locator("#wall").isHidden(), "no wall before signing in");
  await page.fill("#login-user", USER);
  await page.fill("#login-password", PASSWORD + "-wrong");
  await page.click("#login-form button[type=submit]");
  const wrong = await loginError(page);
  expect(/wrong user or password/.test(wrong), "wrong password error, got " + JSON.stringify(wrong));
  expect(await page.locator("#wall").isHidden(), "still no wall after a wrong password");
  step("wrong password refused: " + wrong);
  // The server makes this name wait after a failure (429, "try again"):
  // resubmit until it lets the right password through, a few times at most.
  for (let attempt = 0; attempt < 8; attempt++) {
    // Clear the old message so only this attempt's answer can show one.
    await page.$eval("#login-error", (e) => {
      e.textContent = "";
      e.hidden = true;
    });
    await page.fill("#login-password", PASSWORD);
    await page.click("#login-form button[type=submit]");
    const outcome = await Promise.race([
      page.locator("#wall").waitFor({ state: "visible", timeout: STEP_TIMEOUT }).then(() => "wall"),
      page.locator("#login-error").waitFor({ state: "visible", timeout: STEP_TIMEOUT }).then(() => "error"),
    ]);
    if (outcome === "wall") {
      step("signed in as " + (await page.locator("#who").textContent()));
      return;
    }
    const text = await page.locator("#login-error").textContent();
    expect(/try again/.test(text), "only throttling may refuse the right password, got " + JSON.stringify(text));
    await page.waitForTimeout(300);
  }
  throw new Error("the right password never got through");
}

async function run(page) {
  await signIn(page);
  await page.waitForFunction(() => document.getElementById("updated").textContent !== "never", null, {
    timeout: STEP_TIMEOUT,
  });
  const names = await page.$$eval("#queues tr[data-queue] td.name", (tds) => tds.map((td) => td.textContent));
  expect(
    JSON.stringify([...names].sort()) === JSON.stringify([...queues].sort()),
    "queues table lists " + JSON.stringify(queues) + ", got " + JSON.stringify(names)
  );
  const waiting = await page.$$eval("#queues td.waiting", (tds) => tds.map((td) => td.textContent));
  expect(waiting.every((w) => w === "0"), "nobody waits yet, got " + JSON.stringify(waiting));
  const counts = await page.$$eval("#queues tr[data-queue]", (rows) =>
    rows.map((tr) => ["offered", "abandoned", "sl"].map((c) => tr.querySelector("td." + c).textContent).join(","))
  );
  expect(counts.every((c) => c === "0,0,—"), "nothing offered or abandoned yet, got " + JSON.stringify(counts));
  const history = await (await fetch(api + "/api/stats/history", { signal: AbortSignal.timeout(STEP_TIMEOUT) })).json();
  const want = Object.fromEntries(history.queues.map((q) => [q.name, q.minutes.length]));
  const first = await chartPoints(page);
  expect(
    first.every(([name, n]) => n >= 1 && Math.abs(n - want[name]) <= 1),
    "one chart point per minute of history " + JSON.stringify(want) + ", got " + JSON.stringify(first)
  );
  expect(await page.locator("#error").isHidden(), "no error banner while the API answers");
  step("queues listed " + JSON.stringify(names));

  await post(`/api/agents/${AGENT}/sign-in`, { device: DEVICE });
  await post(`/api/agents/${AGENT}/ready`);
  const ready = await agentRow(page, "available", "idle");
  expect(ready[1] === "available" && ready[2] === "idle" && ready[3] === DEVICE, "ready row " + JSON.stringify(ready));
  step("agent available " + JSON.stringify(ready));

  await post(`/api/agents/${AGENT}/not-ready`, { reason: "lunch" });
  const onBreak = await agentRow(page, "not_ready", "idle");
  expect(onBreak[1] === "not_ready: lunch", "break row shows the reason, got " + JSON.stringify(onBreak));
  step("agent on break " + JSON.stringify(onBreak));

  await page.route("**/api/agents", (route) => route.abort("connectionrefused"));
  await page.locator("#error").waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  const banner = await page.locator("#error").textContent();
  expect(banner.startsWith("API unreachable"), "error banner text " + JSON.stringify(banner));
  const stale = await page.locator("#updated").textContent();
  await page.unroute("**/api/agents");
  await page.locator("#error").waitFor({ state: "hidden", timeout: STEP_TIMEOUT });
  expect((await page.locator("#updated").textContent()) !== "never", "last update shown after recovery");
  step("error banner shown while unreachable, gone after (last update was " + stale + ")");
  step("done");
}

async function supportWaiting(page, want, timeout) {
  await page.waitForFunction(
    (w) => {
      const td = document.querySelector('#queues tr[data-queue="support"] td.waiting');
      return td !== null && td.textContent === w;
    },
    want,
    { timeout }
  );
}

async function supportCell(page, cls, want, timeout) {
  await page.waitForFunction(
    ([c, w]) => {
      const td = document.querySelector(`#queues tr[data-queue="support"] td.${c}`);
      return td !== null && td.textContent === w;
    },
    [cls, want],
    { timeout }
  );
}

async function slChartLast(page) {
  return page.locator('#queues tr[data-queue="support"] svg.chart.sl').getAttribute("data-last");
}

async function runService(page) {
  await signIn(page);
  await supportCell(page, "abandoned", "0", STEP_TIMEOUT);
  await supportCell(page, "sl", "—", STEP_TIMEOUT);
  step("watching support, nothing abandoned");
  await supportCell(page, "abandoned", "1", 60_000);
  const sl = await page.locator('#queues tr[data-queue="support"] td.sl').textContent();
  expect(sl === "—", "an early abandon leaves no service level, got " + sl);
  step("abandoned 1, service level " + sl);
  await supportCell(page, "answered", "1", 90_000);
  await supportCell(page, "sl", "100%", STEP_TIMEOUT);
  await page.waitForFunction(
    () => document.querySelector('#queues tr[data-queue="support"] svg.chart.sl').dataset.last === "100",
    null,
    { timeout: STEP_TIMEOUT }
  );
  step("answered 1, service level 100%, chart last point " + (await slChartLast(page)));
  await page.reload();
  await page.locator("#wall").waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  await supportCell(page, "abandoned", "1", STEP_TIMEOUT);
  await supportCell(page, "sl", "100%", STEP_TIMEOUT);
  const last = await slChartLast(page);
  const points = await page.locator('#queues tr[data-queue="support"] svg.chart.waiting').getAttribute("data-points");
  expect(last === "100" && Number(points) >= 1, "charts after reload: sl last " + last + ", waiting points " + points);
  step("after reload: still signed in, abandoned 1, service level 100%, charts from the server");
  step("done");
}

async function runCaller(page) {
  await signIn(page);
  await supportWaiting(page, "0", STEP_TIMEOUT);
  step("watching support, nobody waiting");
  await supportWaiting(page, "1", 30_000);
  const svg = page.locator('#queues tr[data-queue="support"] svg.chart.waiting');
  step("caller waiting, longest wait " + (await page.locator('#queues tr[data-queue="support"] td.longest').textContent()));
  await supportWaiting(page, "0", 40_000);
  step("caller left the queue, chart " + (await svg.getAttribute("data-points")) + " points");
  step("done");
}

const modes = { agents: run, caller: runCaller, service: runService };
await runInChromium("wall", (page) => modes[mode](page));
