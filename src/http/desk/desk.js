// SoftACD agent desktop: speaks the desk protocol v1 (docs/desk-protocol.md)
// over the WebSocket /api/desk. No framework, no build step. Everything the
// server sends is shown with textContent (never parsed as HTML).
"use strict";

const V = 1;
const $ = (id) => document.getElementById(id);
let ws = null;
let nextId = 1;
let inCallContact = null; // contact the agent is or was last talking with
let pendingWrapUp = null; // contact waiting for a disposition
let currentState = null; // the agent's state.state

function send(type, fields) {
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    showError("not connected");
    return;
  }
  ws.send(JSON.stringify(Object.assign({ v: V, type, id: nextId++ }, fields || {})));
}

function showError(text) {
  $("error").textContent = text;
}

function fillSelect(select, values) {
  select.replaceChildren(
    ...values.map((v) => {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = v;
      return o;
    })
  );
}

function showAgent(agent) {
  const signedIn = agent.status.status !== "logged_out";
  $("signin-panel").hidden = signedIn;
  $("agent-panel").hidden = !signedIn;
  $("history-panel").hidden = !signedIn;
  $("agent-id").textContent = agent.id;
  $("status").textContent =
    agent.status.status + (agent.status.reason ? " (" + agent.status.reason + ")" : "");
  $("state").textContent = agent.state.state;
  $("agent-device").textContent = agent.device;
  const state = agent.state.state;
  currentState = state;
  const busy = state === "reserved" || state === "ringing" || state === "in_call";
  $("hangup").disabled = !busy;
  $("transfer").disabled = state !== "in_call";
  const held = state === "in_call" && agent.contact && agent.contact.held === true;
  $("hold").disabled = state !== "in_call" || held;
  $("retrieve").disabled = !held;
  $("popup").dataset.state = state;
  if (state === "in_call") {
    inCallContact = agent.state.contact;
  }
  if (!busy) {
    $("popup").hidden = true;
  }
  if (state === "wrap_up" && inCallContact !== null) {
    pendingWrapUp = inCallContact;
  }
  $("wrapup").hidden = pendingWrapUp === null;
  $("wrapup-contact").textContent = pendingWrapUp === null ? "" : String(pendingWrapUp);
}

function showOffer(card) {
  $("popup-contact").textContent = String(card.contact);
  $("popup-caller").textContent = card.caller;
  $("popup-dnis").textContent = card.dnis;
  $("popup-queue").textContent = card.queue || "";
  const rows = [];
  for (const [name, value] of Object.entries(card.data || {})) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    rows.push(dt, dd);
  }
  $("popup-data").replaceChildren(...rows);
  $("popup").hidden = false;
}

function showHistory(calls) {
  const rows = calls.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.contact = String(c.contact_id);
    const cells = [
      String(c.contact_id),
      c.caller,
      c.queue || "",
      new Date(c.end_ms).toLocaleTimeString(),
      c.disposition || "",
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    return tr;
  });
  $("history").tBodies[0].replaceChildren(...rows);
}

function onMessage(msg) {
  switch (msg.type) {
    case "hello":
      fillSelect($("break-reason"), msg.break_reasons);
      fillSelect($("disposition"), msg.dispositions);
      break;
    case "signed_in":
      showError("");
      pendingWrapUp = null;
      showAgent(msg.agent);
      break;
    case "agent":
      showAgent(msg.agent);
      break;
    case "offer":
      showOffer(msg.contact);
      break;
    case "history":
      showHistory(msg.calls);
      // A page (re)loaded during wrap-up: the latest call still needs its code.
      if (currentState === "wrap_up" && pendingWrapUp === null && msg.calls.length > 0 && !msg.calls[0].disposition) {
        pendingWrapUp = msg.calls[0].contact_id;
        $("wrapup").hidden = false;
        $("wrapup-contact").textContent = String(pendingWrapUp);
      }
      break;
    case "signed_out":
      pendingWrapUp = null;
      showAgent(msg.agent);
      break;
    case "ok":
      showError("");
      if (msg.agent) {
        showAgent(msg.agent);
      }
      if (msg.disposition !== undefined && msg.contact === pendingWrapUp) {
        pendingWrapUp = null;
        $("wrapup").hidden = true;
      }
      break;
    case "error":
      showError(msg.code + ": " + msg.message);
      break;
    default:
      break;
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(scheme + "//" + location.host + "/api/desk");
  ws.onopen = () => {
    $("conn").dataset.state = "open";
    $("conn").textContent = "connected";
  };
  ws.onclose = () => {
    $("conn").dataset.state = "closed";
    $("conn").textContent = "disconnected";
  };
  ws.onmessage = (ev) => {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (e) {
      showError("server sent bad JSON");
      return;
    }
    onMessage(msg);
  };
}

$("signin").addEventListener("submit", (ev) => {
  ev.preventDefault();
  send("sign_in", {
    agent: $("agent").value,
    password: $("password").value,
    device: $("device").value,
  });
  $("password").value = "";
});
$("ready").addEventListener("click", () => send("ready"));
$("break").addEventListener("click", () => send("break", { reason: $("break-reason").value }));
$("hangup").addEventListener("click", () => send("hang_up"));
$("signout").addEventListener("click", () => send("sign_out"));
$("hold").addEventListener("click", () => send("hold"));
$("retrieve").addEventListener("click", () => send("retrieve"));
$("transfer").addEventListener("click", () => {
  const to = {};
  to[$("transfer-kind").value] = $("transfer-to").value.trim();
  send("transfer", { to });
});
$("dispose").addEventListener("click", () => {
  if (pendingWrapUp !== null) {
    send("disposition", { contact: pendingWrapUp, code: $("disposition").value });
  }
});

connect();
