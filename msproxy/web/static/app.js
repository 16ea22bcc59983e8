// The page: the sessions list, the ladder of the chosen session, the detail pane,
// the filter box and the exports, kept up to date over one WebSocket.
import { getJSON, openUpdates, url } from "./api.js";
import { Ladder } from "./ladder.js";

const state = { key: null, filter: "", open: new Set(), sessions: [] };
const ladder = new Ladder(showDetail);
const $ = (id) => document.getElementById(id);

function params() {
  const result = {};
  if (state.filter) result.filter = state.filter;
  if (state.open.size) result.open = [...state.open].join(",");
  return result;
}

function fmt(seconds) {
  return seconds === null || seconds === undefined ? "-" : seconds.toFixed(3);
}

async function loadProblems() {
  const info = await getJSON("/api/info");
  const problems = info.captures.filter((c) => c.problem).map((c) => c.problem);
  $("problems").textContent = problems.join("; ");
}

async function loadSessions() {
  const body = await getJSON("/api/sessions");
  state.sessions = body.sessions;
  const rows = body.sessions.map((s) => {
    const tr = document.createElement("tr");
    tr.className = `session${s.key === state.key ? " selected" : ""}${s.open ? " live" : ""}`;
    tr.dataset.key = s.key;
    const cells = [`${s.name} (${s.source.split("/").pop()})`, s.handle || "?", s.version || "?",
      fmt(s.start), fmt(s.duration), s.connections, s.commands, s.errors];
    cells.forEach((value, i) => {
      const td = document.createElement("td");
      td.textContent = value;
      if (i === 7 && s.errors) td.className = "errors";
      tr.appendChild(td);
    });
    tr.addEventListener("click", () => choose(s.key));
    return tr;
  });
  $("session-rows").replaceChildren(...rows);
  if (state.key === null && body.sessions.length) choose(body.sessions[0].key);
}

async function choose(key) {
  state.key = key;
  state.open.clear();
  for (const tr of $("session-rows").children) tr.classList.toggle("selected", tr.dataset.key === key);
  await showLadder();
}

async function showLadder(keepDetail = false) {
  if (!keepDetail) $("detail").replaceChildren(hint("Choose a row."));
  try {
    await ladder.show(state.key, params());
    $("filter-error").textContent = "";
  } catch (error) {
    $("filter-error").textContent = error.message;
  }
  updateExports();
}

function updateExports() {
  for (const kind of ["mmd", "svg", "jsonl"]) {
    const link = $(`export-${kind}`);
    if (state.key === null) {
      link.setAttribute("aria-disabled", "true");
      continue;
    }
    link.removeAttribute("aria-disabled");
    link.href = url(`/api/sessions/${state.key}/export.${kind}`, params());
  }
}

function hint(text) {
  const node = document.createElement("p");
  node.className = "hint";
  node.textContent = text;
  return node;
}

function pre(text) {
  const node = document.createElement("pre");
  node.textContent = text;
  return node;
}

function section(title, ...children) {
  const h = document.createElement("h3");
  h.textContent = title;
  return [h, ...children];
}

function folded(title, child) {
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = title;
  details.append(summary, child);
  return details;
}

async function showDetail(row) {
  if (row.kind === "fold") {
    state.open.add(row.first);
    await showLadder(true);
    ladder.selected = row.n;
    ladder.draw();
  }
  const pane = $("detail");
  const body = await getJSON(`/api/sessions/${state.key}/detail`, { ...params(), n: row.n });
  row = body.row; // as it is now (an opened fold's first row is another row)
  const parts = [];
  const h = document.createElement("h2");
  h.textContent = `#${row.n} ${row.text}`;
  parts.push(h);
  if (row.run !== null && row.run !== undefined) {
    const button = document.createElement("button");
    button.textContent = "fold this presence run again";
    button.addEventListener("click", () => { state.open.delete(row.run); showLadder(); });
    parts.push(button);
  }
  if (row.rewrite) parts.push(...section("redirect rewritten", pre(row.rewrite)));
  if (row.pair !== null) parts.push(...section(row.dir === "c2s" ? "reply" : "request", pre(`row #${row.pair}`)));
  for (const record of body.records) {
    const box = document.createElement("div");
    box.className = "record";
    if (record.line !== undefined) box.append(...section("line", pre(record.line)));
    if (record.payload) box.append(...payloadView(record.payload));
    if (record.problem) box.append(...section("problem", pre(record.problem)));
    if (record.bytes !== undefined) {
      box.append(folded(`exact bytes (${record.size})`, pre(record.bytes)));
      box.append(folded("hex", pre(record.hex)));
    }
    box.append(folded(`capture record (${record.type})`, pre(record.record)));
    parts.push(box);
  }
  pane.replaceChildren(...parts);
}

function payloadView(payload) {
  const parts = [];
  const head = document.createElement("h3");
  head.textContent = `payload (${payload.size} bytes${payload.cut ? ", cut" : ""})`;
  parts.push(head);
  if (payload.headers.length) {
    const table = document.createElement("table");
    table.className = "headers";
    for (const [name, value] of payload.headers) {
      const tr = table.insertRow();
      tr.insertCell().textContent = `${name}:`;
      tr.insertCell().textContent = value;
    }
    parts.push(table);
  }
  const body = pre(payload.body);
  body.className = `payload ${payload.kind}`;
  parts.push(body);
  return parts;
}

let pending = null;
const changed = new Set();
function onMessage(message) {
  if (message.type === "reset") {
    loadSessions().then(() => state.key !== null && showLadder());
    loadProblems();
    return;
  }
  for (const key of message.sessions) changed.add(key);
  if (pending !== null) return; // one refresh at a time, at most twice a second
  pending = setTimeout(async () => {
    const keys = new Set(changed);
    changed.clear();
    try {
      await Promise.all([loadSessions(), loadProblems()]);
      if (state.key !== null && keys.has(state.key)) await ladder.refresh(true);
    } finally {
      pending = null;
    }
  }, 500);
}

$("filter").addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  state.filter = event.target.value.trim();
  state.open.clear();
  if (state.key !== null) showLadder();
});

updateExports();
loadProblems();
openUpdates(onMessage, (text) => { $("status").textContent = text; });
loadSessions();
