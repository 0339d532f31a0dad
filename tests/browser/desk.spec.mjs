// The agent desktop in a real browser (issue 6): drives /desk in the system
// Chromium through playwright-core (no browser download). Run by
// tests/desk_browser.rs, which starts softacd, the seat's SIPp phone and the
// SIPp caller:
//
//   node tests/browser/desk.spec.mjs http://127.0.0.1:PORT/desk [caller-hangs-up|agent-hangs-up]
//
// caller-hangs-up (the default) also checks bad messages and a wrong
// password and picks "resolved"; agent-hangs-up presses Hang up in the call,
// reloads the page during wrap-up and picks "callback"; blind-transfer
// signs 1002 in on a second raw WebSocket (on break), tries a transfer to
// 1002 from the page (refused: busy), transfers to queue "support", makes
// 1002 ready so it gets the caller, and picks "escalated".
//
// Protocol with the Rust test on stdout: "desk: ready" once agent 1001 is
// signed in and ready (the test then places the call), "desk: done
// contact=N" at the end. Any failed expectation exits 1 with the page text.
import { runInChromium } from "./chromium.mjs";

const url = process.argv[2];
if (!url || !/^http:\/\/127\.\d+\.\d+\.\d+:\d+\/desk$/.test(url)) {
  console.error("usage: node desk.spec.mjs http://127.0.0.1:PORT/desk (loopback only)");
  process.exit(2);
}
const mode = process.argv[3] || "caller-hangs-up";
if (!["caller-hangs-up", "agent-hangs-up", "blind-transfer"].includes(mode)) {
  console.error("unknown mode " + mode);
  process.exit(2);
}
const disposition = { "caller-hangs-up": "resolved", "agent-hangs-up": "callback", "blind-transfer": "escalated" }[mode];
const CALL_TIMEOUT = 60_000;
const STEP_TIMEOUT = 15_000;

function step(text) {
  console.log("desk: " + text);
}

function expect(cond, what) {
  if (!cond) {
    throw new Error("expectation failed: " + what);
  }
}

const text = (page, sel) => page.locator(sel).textContent();

async function waitText(page, sel, want, timeout = STEP_TIMEOUT) {
  await page.waitForFunction(
    ([s, w]) => {
      const el = document.querySelector(s);
      return el !== null && el.textContent === w;
    },
    [sel, want],
    { timeout }
  );
}

// A second, raw WebSocket from the page: bad messages get JSON errors and
// the connection stays open.
async function badMessagesGetErrors(page) {
  const replies = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket("ws://" + location.host + "/api/desk");
        const got = [];
        const frames = [
          "not json",
          JSON.stringify({ v: 2, type: "ready" }),
          JSON.stringify({ v: 1, type: "dance", id: "d1" }),
          JSON.stringify({ v: 1, type: "ready", id: 5 }),
          JSON.stringify({ v: 1, type: "sign_in", agent: "1001", password: "wrong", id: "w" }),
        ];
        ws.onmessage = (ev) => {
          got.push(JSON.parse(ev.data));
          if (got.length === 1) {
            frames.forEach((f) => ws.send(f));
          }
          if (got.length === frames.length + 1) {
            resolve({ got, open: ws.readyState === WebSocket.OPEN });
            ws.close();
          }
        };
        ws.onerror = () => reject(new Error("websocket error"));
        setTimeout(() => reject(new Error("timeout: got " + JSON.stringify(got))), 10000);
      })
  );
  const codes = replies.got.map((m) => (m.type === "error" ? m.code : m.type));
  expect(
    JSON.stringify(codes) ===
      JSON.stringify(["hello", "bad_message", "bad_version", "unknown_type", "not_signed_in", "auth_failed"]),
    "error codes " + JSON.stringify(codes)
  );
  expect(replies.got.every((m) => m.v === 1), "every message has v: 1");
  expect(replies.got[3].reply_to === "d1" && replies.got[4].reply_to === 5, "reply_to echoes id");
  expect(replies.open, "the connection stays open after bad messages");
}

// Agent 1002 on its own raw WebSocket from the page (kept on window):
// send one request, resolve with its answer.
async function as1002(page, request) {
  return page.evaluate(
    (req) =>
      new Promise((resolve, reject) => {
        const open = () =>
          new Promise((ok, bad) => {
            if (window.ws1002) {
              ok(window.ws1002);
              return;
            }
            const ws = new WebSocket("ws://" + location.host + "/api/desk");
            ws.onopen = () => {
              window.ws1002 = ws;
              ok(ws);
            };
            ws.onerror = () => bad(new Error("websocket error"));
          });
        open().then((ws) => {
          const id = "x" + Math.random();
          const onMessage = (ev) => {
            const m = JSON.parse(ev.data);
            if (m.reply_to === id) {
              ws.removeEventListener("message", onMessage);
              resolve(m);
            }
          };
          ws.addEventListener("message", onMessage);
          ws.send(JSON.stringify(Object.assign({ v: 1, id }, req)));
        }, reject);
        setTimeout(() => reject(new Error("no answer to " + JSON.stringify(req))), 10000);
      }),
    request
  );
}

async function transferFromThePage(page) {
  expect(await page.locator("#transfer").isEnabled(), "transfer is offered in a call");
  await page.selectOption("#transfer-kind", "agent");
  await page.fill("#transfer-to", "1002");
  await page.click("#transfer");
  await page.waitForFunction(() => document.getElementById("error").textContent.startsWith("busy"), null, {
    timeout: STEP_TIMEOUT,
  });
  expect((await text(page, "#state")) === "in_call", "a refused transfer leaves the call");
  step("transfer to 1002 on break refused: busy");
  await page.selectOption("#transfer-kind", "queue");
  await page.fill("#transfer-to", "support");
  await page.click("#transfer");
  await waitText(page, "#state", "wrap_up");
  step("transferred to queue support");
  const ready = await as1002(page, { type: "ready" });
  expect(ready.type === "ok", "1002 ready: " + JSON.stringify(ready));
  step("1002 ready");
}

async function run(page) {
  await page.goto(url);
  await waitText(page, "#conn", "connected");
  step("page loaded and connected");

  await page.fill("#agent", "1001");
  await page.fill("#device", "1001");
  if (mode === "caller-hangs-up") {
    await badMessagesGetErrors(page);
    step("bad messages answered with JSON errors");
    await page.fill("#password", "not-the-password");
    await page.click("#signin-button");
    await page.waitForFunction(() => document.getElementById("error").textContent.startsWith("auth_failed"), null, {
      timeout: STEP_TIMEOUT,
    });
    expect(await page.locator("#signin-panel").isVisible(), "still at sign-in after a wrong password");
    step("wrong password refused");
  }

  if (mode === "blind-transfer") {
    const signed = await as1002(page, { type: "sign_in", agent: "1002", password: "demo1002", device: "1002" });
    expect(signed.type === "signed_in", "1002 signed in: " + JSON.stringify(signed));
    const onBreak = await as1002(page, { type: "break", reason: "lunch" });
    expect(onBreak.type === "ok", "1002 on break: " + JSON.stringify(onBreak));
    step("1002 signed in on a break");
  }

  await page.fill("#password", "demo1001");
  await page.click("#signin-button");
  await page.locator("#agent-panel").waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  expect((await text(page, "#agent-device")).startsWith("sip:1001@"), "device is seat 1001's phone");
  step("signed in on " + (await text(page, "#agent-device")));

  await page.selectOption("#break-reason", "lunch");
  await page.click("#break");
  await waitText(page, "#status", "not_ready (lunch)");
  step("on break (lunch)");
  await page.click("#ready");
  await waitText(page, "#status", "available");
  await waitText(page, "#state", "idle");
  step("ready");

  await page.locator("#popup").waitFor({ state: "visible", timeout: CALL_TIMEOUT });
  const contact = await text(page, "#popup-contact");
  const caller = await text(page, "#popup-caller");
  expect(caller.includes("caller"), "popup shows the caller, got " + caller);
  expect((await text(page, "#popup-dnis")) === "100", "popup shows DNIS 100");
  expect((await text(page, "#popup-queue")) === "support", "popup shows queue support");
  const data = await text(page, "#popup-data");
  expect(data.includes("SIPp caller"), "popup shows the caller's name from the IVR data, got " + data);
  step("popup for contact " + contact + " from " + caller);

  await waitText(page, "#state", "in_call", CALL_TIMEOUT);
  step("in call");
  if (mode === "agent-hangs-up") {
    expect(await page.locator("#hangup").isEnabled(), "hang up is offered in a call");
    await page.click("#hangup");
    step("hang up pressed");
  }
  if (mode === "blind-transfer") {
    await transferFromThePage(page);
  }
  await waitText(page, "#state", "wrap_up", CALL_TIMEOUT);
  await page.locator("#wrapup").waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  expect((await text(page, "#wrapup-contact")) === contact, "wrap-up is for the popup's contact");
  expect(await page.locator("#popup").isHidden(), "popup closed after the call");
  step("wrap-up");
  if (mode === "agent-hangs-up") {
    // A desk reloaded during wrap-up finds the call that needs its code.
    await page.reload();
    await waitText(page, "#conn", "connected");
    await page.fill("#agent", "1001");
    await page.fill("#password", "demo1001");
    await page.fill("#device", "1001");
    await page.click("#signin-button");
    await page.locator("#wrapup").waitFor({ state: "visible", timeout: STEP_TIMEOUT });
    expect((await text(page, "#wrapup-contact")) === contact, "after reload, wrap-up is for the same contact");
    expect((await text(page, "#state")) === "wrap_up", "still in wrap-up after reload");
    step("reloaded during wrap-up: the disposition form is back");
  }

  await page.selectOption("#disposition", disposition);
  await page.click("#dispose");
  await page.locator("#wrapup").waitFor({ state: "hidden", timeout: STEP_TIMEOUT });
  const row = page.locator(`#history tr[data-contact="${contact}"]`);
  await row.waitFor({ state: "visible", timeout: STEP_TIMEOUT });
  const cells = await row.locator("td").allTextContents();
  expect(cells[4] === disposition, "history row shows the disposition, got " + JSON.stringify(cells));
  await waitText(page, "#state", "idle");
  step("disposition saved, history " + JSON.stringify(cells));
  step("done contact=" + contact);
}

await runInChromium("desk", run);
