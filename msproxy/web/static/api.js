// The page's requests: every URL keeps the token the page was opened with.
const token = new URLSearchParams(location.search).get("token") || "";

export function url(path, params = {}) {
  const query = new URLSearchParams(params);
  if (token) query.set("token", token);
  return `${path}?${query}`;
}

export async function getJSON(path, params) {
  const response = await fetch(url(path, params));
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

export function openUpdates(onMessage, onState) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${url("/ws")}`);
  socket.onopen = () => onState("live");
  socket.onclose = () => {
    onState("disconnected");
    setTimeout(() => openUpdates(onMessage, onState), 2000);
  };
  socket.onmessage = (event) => onMessage(JSON.parse(event.data));
}
