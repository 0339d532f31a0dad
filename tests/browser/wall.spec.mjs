// The supervisor wall in a real browser (issue 6): drives /wall in the
// system Chromium through playwright-core (no browser download). Run by
// tests/wall_browser.rs, which starts softacd with the queues named here:
//
//   node tests/browser/wall.spec.mjs http://127.0.0.1:PORT/wall support,sales [agents|caller]
//
// caller mode only watches queue "support" while the Rust test's SIPp
// caller waits there: waiting goes 0 → 1 → 0 (the queue's max wait ends it).
//
// The flow: the page lists every configured queue, each with a chart point;
// agent 1002 signs in on a SIP URI and gets ready through the HTTP API and
// the agents table shows it available / idle; it takes a break "lunch" and
// the table shows the reason; the API failing shows the error banner, which
// goes away when it answers again; ten seconds on, the charts hold a second
// point. Lines on stdout start with "wall: "; any failed expectation prints
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
if (mode !== "agents" && mode !== "caller") {
  console.error("unknown mode " + mode);
  process.exit(2);
}
const api = new URL(url).origin;
const AGENT = "1002";
const DEVICE = "sip:1002@127.0.0.1:5999";
const STEP_TIMEOUT = 5_000;

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
  if (body !== undefined) {
    init.headers = { "Content-Type": "application/json" };
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
    rows.map((tr) => [tr.dataset.queue, Number(tr.querySelector("svg.chart").dataset.points)])
  );
}

async function run(page) {
  await page.goto(url);
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
  const first = await chartPoints(page);
  expect(first.every(([, n]) => n === 1), "one chart point per queue at open, got " + JSON.stringify(first));
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

  await page.waitForFunction(
    () => [...document.querySelectorAll("#queues svg.chart")].every((s) => Number(s.dataset.points) >= 2),
    null,
    { timeout: 15_000 }
  );
  step("charts hold a second point after 10 s " + JSON.stringify(await chartPoints(page)));
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

async function runCaller(page) {
  await page.goto(url);
  await supportWaiting(page, "0", STEP_TIMEOUT);
  step("watching support, nobody waiting");
  await supportWaiting(page, "1", 30_000);
  const svg = page.locator('#queues tr[data-queue="support"] svg.chart');
  step("caller waiting, longest wait " + (await page.locator('#queues tr[data-queue="support"] td.longest').textContent()));
  await supportWaiting(page, "0", 40_000);
  step("caller left the queue, chart " + (await svg.getAttribute("data-points")) + " points");
  step("done");
}

await runInChromium("wall", (page) => (mode === "caller" ? runCaller(page) : run(page)));
