// The ladder: one column per actor, one row per command; only the rows in view are
// fetched and drawn (virtualised), so a session of any length stays usable.
import { getJSON } from "./api.js";

export const ROW_HEIGHT = 24;
const TOP_GAP = 6; // pixels above the first row
const PAGE = 200; // rows per request
const KEPT_PAGES = 20; // pages kept in memory at most
const SVG = "http://www.w3.org/2000/svg";

export class Ladder {
  constructor(onSelect) {
    this.scroll = document.getElementById("ladder-scroll");
    this.spacer = document.getElementById("ladder-spacer");
    this.svg = document.getElementById("ladder-rows");
    this.head = document.getElementById("ladder-head");
    this.onSelect = onSelect;
    this.key = null;
    this.params = {};
    this.total = 0;
    this.columns = [];
    this.pages = new Map();
    this.selected = null;
    this.scroll.addEventListener("scroll", () => {
      this.head.scrollLeft = this.scroll.scrollLeft;
      this.draw();
    });
    window.addEventListener("resize", () => this.draw());
  }

  columnWidth() {
    const fit = Math.floor(this.scroll.clientWidth / Math.max(1, this.columns.length));
    return Math.max(190, fit);
  }

  x(column) {
    return this.columnWidth() * column + this.columnWidth() / 2;
  }

  async show(key, params) {
    const info = await getJSON(`/api/sessions/${key}`, params);
    this.selected = null; // another session, filter or fold: other row numbers
    this.key = key;
    this.params = params;
    this.pages.clear();
    this.setInfo(info);
    this.draw();
    return info;
  }

  setInfo(info) {
    this.total = info.total;
    this.columns = info.columns;
    this.spacer.style.height = `${this.total * ROW_HEIGHT + ROW_HEIGHT + TOP_GAP}px`;
    const width = this.columnWidth();
    this.head.replaceChildren(...this.columns.map((column) => {
      const cell = document.createElement("div");
      cell.className = "col";
      cell.style.width = `${width}px`;
      cell.innerHTML = "<b></b><small></small>";
      cell.querySelector("b").textContent = column.name;
      cell.querySelector("small").textContent = column.address;
      return cell;
    }));
  }

  async refresh(followEnd) {
    if (this.key === null) return;
    const atEnd = this.scroll.scrollTop + this.scroll.clientHeight >= this.total * ROW_HEIGHT - 2;
    const info = await getJSON(`/api/sessions/${this.key}`, this.params);
    const lastPage = Math.floor(this.total / PAGE);
    for (const page of [...this.pages.keys()]) if (page >= lastPage) this.pages.delete(page);
    this.setInfo(info);
    if (followEnd && atEnd) this.scroll.scrollTop = this.scroll.scrollHeight;
    this.draw();
    return info;
  }

  async page(number) {
    if (!this.pages.has(number)) {
      const params = { ...this.params, start: number * PAGE, count: PAGE };
      this.pages.set(number, getJSON(`/api/sessions/${this.key}/rows`, params).then((b) => b.rows));
      while (this.pages.size > KEPT_PAGES) this.pages.delete(this.pages.keys().next().value);
    }
    return this.pages.get(number);
  }

  async draw() {
    if (this.key === null) return;
    const first = Math.max(0, Math.floor(this.scroll.scrollTop / ROW_HEIGHT) - 10);
    const count = Math.ceil(this.scroll.clientHeight / ROW_HEIGHT) + 20;
    const last = Math.min(this.total, first + count);
    const key = this.key;
    const rows = [];
    for (let page = Math.floor(first / PAGE); page * PAGE < last; page++) {
      for (const row of await this.page(page)) if (row.n >= first && row.n < last) rows.push(row);
    }
    if (key !== this.key) return;
    this.render(first, rows);
  }

  render(first, rows) {
    const width = this.columnWidth() * this.columns.length;
    const height = (rows.length + 1) * ROW_HEIGHT;
    const svg = this.svg;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.style.top = `${first * ROW_HEIGHT + TOP_GAP}px`;
    const pair = this.selected !== null ? this.selectedPair : null;
    const parts = [marker()];
    this.columns.forEach((_, column) => {
      parts.push(el("line", { class: "lifeline", x1: this.x(column), x2: this.x(column), y1: 0, y2: height }));
    });
    rows.forEach((row, i) => parts.push(this.rowElement(row, i * ROW_HEIGHT, width, pair)));
    svg.replaceChildren(...parts);
  }

  rowElement(row, y, width, pair) {
    const note = row.dir === null;
    const classes = ["row", row.kind, row.dir || "note", note ? "note" : ""];
    if (row.error) classes.push("error");
    if (row.n === this.selected) classes.push("selected");
    if (row.n === pair) classes.push("paired");
    const group = el("g", { class: classes.join(" "), "data-n": row.n, "data-verb": row.verb || "" });
    group.appendChild(el("rect", { class: "bg", x: 0, y, width, height: ROW_HEIGHT }));
    const x1 = this.x(row.from);
    const x2 = this.x(row.to);
    let label = row.text;
    if (row.kind === "fold") label = `\u25B8 ${label}`;
    if (row.run !== null && row.run !== undefined) label = `\u25BE ${label}`;
    const text = note
      ? el("text", { x: x1, y: y + 16, "text-anchor": "middle" })
      : el("text", { x: Math.min(x1, x2) + 8, y: y + 11 });
    text.textContent = label;
    if (row.rewrite) {
      const span = el("tspan", { class: "rewrite" });
      span.textContent = `  \u21AA ${row.rewrite}`;
      text.appendChild(span);
    }
    if (!note) {
      const attrs = { x1, x2, y1: y + 17, y2: y + 17, "marker-end": "url(#arrow)" };
      if (row.dir === "both") attrs["marker-start"] = "url(#arrow)";
      group.appendChild(el("line", attrs));
    }
    const title = el("title", {});
    title.textContent = `#${row.n}  ${row.t !== null ? row.t.toFixed(3) + " s" : ""}  ${row.text}`;
    group.append(text, title);
    group.addEventListener("click", () => this.select(row));
    return group;
  }

  select(row) {
    this.selected = row.n;
    this.selectedPair = row.pair;
    this.draw();
    this.onSelect(row);
  }
}

function marker() {
  const defs = el("defs", {});
  const m = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  m.appendChild(el("path", { d: "M0,0L10,5L0,10z", fill: "context-stroke" }));
  defs.appendChild(m);
  return defs;
}

function el(name, attrs) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}
