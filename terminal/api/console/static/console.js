// The payterm web console: the display's frames from the terminal, its keys, slips and events.
"use strict";
const $ = (id) => document.getElementById(id);
const SCALE = 4;
let state = null;
let refreshTimer = null;
let frameWanted = 0;
let frameDrawn = 0;
window.payterm = { drawn: [] }; // frame number and the time it was drawn (for benchmarks)

async function call(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) { showSignIn(); throw new Error("sign in"); }
  return response;
}

function showSignIn() { $("signin").hidden = false; $("console").hidden = true; }

async function signIn(event) {
  event.preventDefault();
  const form = new FormData($("signin"));
  const response = await fetch("/console/session", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ password: form.get("password") || "", api_key: form.get("api_key") || "" }),
  });
  if (!response.ok) { $("signin-error").textContent = (await response.json()).message; return; }
  $("signin").hidden = true;
  start();
}

async function act(kind, value) {
  const response = await call("/console/act", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ kind, value }),
  });
  const answer = await response.json();
  $("problem").textContent = response.ok ? "" : answer.message;
  if (kind === "network") refreshSoon();
  return answer;
}

async function drawFrame(number) {
  frameWanted = Math.max(frameWanted, number);
  const response = await call(`/console/frame/${number}.png`);
  if (!response.ok || number < frameDrawn) return;
  const url = URL.createObjectURL(await response.blob());
  const img = $("display");
  const old = img.src;
  img.src = url;
  await img.decode().catch(() => {});
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
  frameDrawn = number;
  img.dataset.frame = String(number);
  window.payterm.drawn.push([number, performance.timeOrigin + performance.now()]);
  if (window.payterm.drawn.length > 200) window.payterm.drawn.shift();
}

function addEvent(event) {
  const li = document.createElement("li");
  li.textContent = `${event.at.slice(11, 19)} ${event.name} ${event.text}`;
  if (/failed|alert|mismatch|problem/.test(event.name)) li.className = "bad";
  const list = $("events");
  list.prepend(li);
  while (list.children.length > 50) list.lastChild.remove();
  if (event.refresh) refreshSoon();
}

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 60);
}

function money(minor) { return (minor / 100).toFixed(2); }

function fill(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    if (/out of paper|offline|unplugged|^down$/.test(String(v))) dd.className = "bad";
    return [dt, dd];
  }));
}

async function refresh() {
  const response = await call("/console/state");
  if (!response.ok) return;
  state = await response.json();
  const t = state.terminal;
  $("mode").textContent = `${t.terminal_id} · ${state.emulated ? "emulated device" : "terminal"}` +
    (state.live ? "" : " · read-only");
  const printer = t.printer.problem || (!t.printer.online ? "offline" : (!t.printer.paper ? "out of paper" : "ok"));
  fill($("status"), [
    ["phase", t.doing ? `${t.phase} (${t.doing})` : t.phase],
    ["printer", printer],
    ["scanner", t.scanner.problem || "ok"],
    ["network", state.network],
    ["waiting to sync", String(t.sync.records_waiting)],
    ...(t.fault ? [["fault", t.fault]] : []),
  ]);
  const rows = state.payments.map((p) => {
    const tr = document.createElement("tr");
    for (const text of [String(p.number), p.id, money(p.amount_minor), p.state, p.wallet || ""]) {
      const td = document.createElement("td"); td.textContent = text; tr.append(td);
    }
    return tr;
  });
  $("payments").tBodies[0].replaceChildren(...rows);
  const x = state.x_report;
  fill($("report"), Object.entries(x).filter(([, v]) => typeof v !== "object").map(([k, v]) =>
    [k.replaceAll("_", " "), /_minor$/.test(k) ? money(v) : String(v)]));
  const slips = state.slips.map((s) => {
    const div = document.createElement("div"); div.className = "slip"; div.dataset.slip = String(s.number);
    const img = document.createElement("img"); img.src = `/console/slips/${s.number}.png`; img.alt = s.title;
    const a = document.createElement("a"); a.href = `/console/slips/${s.number}.escpos`;
    a.download = `slip-${s.number}.escpos`; a.textContent = `${s.title} — ESC/POS bytes`;
    div.append(img, a); return div;
  });
  $("slip-list").replaceChildren(...slips);
  const net = $("network");
  net.dataset.act = state.network === "up" ? "network:down" : "network:up";
  net.textContent = state.network === "up" ? "Cut the network" : "Restore the network";
  $("demo").hidden = !state.demo;
  $("badge").hidden = !state.emulated;
  $("codes").replaceChildren(...state.codes.map((name) => {
    const b = document.createElement("button"); b.dataset.act = `scan:${name}`;
    b.textContent = `Scan the ${name === "alipay" ? "Alipay" : "WeChat Pay"} code`; return b;
  }));
  for (const b of document.querySelectorAll(".controls button, .controls input")) b.disabled = !state.live;
  const img = $("display");
  img.width = state.display.width * SCALE; img.height = state.display.height * SCALE;
}

const KEYS = { Enter: "enter", Backspace: "backspace", Escape: "clear", "/": "f1", "*": "f2", "-": "f3", "+": "f4" };

function start() {
  $("console").hidden = false;
  refresh().then(() => {
    const stream = new EventSource("/console/stream");
    stream.addEventListener("screen", (e) => drawFrame(JSON.parse(e.data).frame));
    stream.addEventListener("log", (e) => addEvent(JSON.parse(e.data)));
    stream.onerror = () => { refreshSoon(); };
  }).catch(() => {});
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-act]");
  if (!button || button.disabled) return;
  const [kind, ...rest] = button.dataset.act.split(":");
  act(kind, rest.join(":")).catch(() => {});
});
document.addEventListener("keydown", (event) => {
  if (!state || !state.live || event.target.closest("input") || event.ctrlKey || event.altKey || event.metaKey) return;
  const key = /^[0-9]$/.test(event.key) ? event.key : KEYS[event.key];
  if (key) { event.preventDefault(); act("key", key).catch(() => {}); }
});
$("scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("scan-text").value;
  if (text) act("scan", text).then(() => { $("scan-text").value = ""; }).catch(() => {});
});
$("signin").addEventListener("submit", signIn);
start();
