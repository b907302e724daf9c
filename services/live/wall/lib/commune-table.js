/**
 * The commune table: one row per commune or ward in force today, from the gateway's `rollup`
 * (current figures) and `kpi` (on-time rate) topics. Sortable by any column, 20 rows a page.
 *
 * `communeRows`, `sortRows` and `pageOf` are pure (tested without a browser); `CommuneTable`
 * draws them: it builds its 20 rows once and afterwards only writes text that changed, as the
 * rest of the wall does.
 */
import { byVietnamese, dayOf, kpiOf, mapOn, rollupOf, shortNames } from "./aggregate.js";
import { dash, formatInt, formatPercent } from "./format.js";
import { t } from "./i18n.js";

/** @typedef {import("./store.js").LiveStore} LiveStore */
/** @typedef {import("./aggregate.js").WallConfig} WallConfig */
/**
 * @typedef {{ code: string, name: string, formerCode: string, formerVi: string, formerEn: string,
 *   mobile: number|null, bts: number|null, btsDown: number|null, received: number|null, ontime: number|null,
 *   esign: number|null, reported: string[] }} CommuneRow
 */

export const pageSize = 20;

/** The sortable columns, in the table's order; `name` sorts by the commune's Vietnamese name. */
export const columns = /** @type {const} */ (["name", "mobile", "bts", "btsDown", "received", "ontime", "esign", "reported"]);

/**
 * The rows of the table on the view's day.
 * @param {LiveStore} store @param {WallConfig} config @param {{ nowMs: number|null }} at
 * @returns {CommuneRow[]}
 */
export function communeRows(store, config, { nowMs }) {
  const day = dayOf(config, nowMs);
  const map = mapOn(config, day);
  /** @type {CommuneRow[]} */
  const rows = [];
  for (const a of map.leaves.values()) {
    const r = rollupOf(store, a.level, a.code);
    const num = (/** @type {string} */ f) => (r && typeof r[f] === "number" ? /** @type {number} */ (r[f]) : null);
    const sameDay = r !== null && r.day === day;
    const today = (/** @type {string} */ f) => (sameDay ? (num(f) ?? 0) : null);
    const fdCode = map.formerOf(a.code) ?? "";
    const fd = map.formerDistricts.find((d) => d.district.code === fdCode)?.district;
    rows.push({
      code: a.code,
      name: a.name_vi,
      formerCode: fdCode,
      formerVi: fd?.name_vi ?? "",
      formerEn: fd?.name_en ?? "",
      mobile: num("mobile"),
      bts: num("bts"),
      btsDown: num("bts") === null ? null : (num("bts_down") ?? 0),
      received: today("received"),
      ontime: kpiOf(store, "ontime_rate", a.code, a.level),
      esign: today("esign"),
      reported: sameDay && typeof r?.reported === "string" && r.reported ? r.reported.split(",") : [],
    });
  }
  return rows;
}

/**
 * Rows sorted by `column`; a missing figure (a dash) always sorts last, ties by name.
 * @param {CommuneRow[]} rows @param {string} column @param {"asc"|"desc"} dir
 */
export function sortRows(rows, column, dir) {
  const sign = dir === "desc" ? -1 : 1;
  const byName = (/** @type {CommuneRow} */ a, /** @type {CommuneRow} */ b) => byVietnamese(a.name, b.name);
  /** @param {CommuneRow} r @returns {number|string|null} */
  const value = (r) => (column === "name" ? r.name : column === "reported" ? r.reported.length : /** @type {any} */ (r)[column]);
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null || vb === null) return va === vb ? byName(a, b) : va === null ? 1 : -1;
    const c = typeof va === "string" ? byVietnamese(va, /** @type {string} */ (vb)) : va - /** @type {number} */ (vb);
    return c !== 0 ? sign * c : byName(a, b);
  });
}

/**
 * One page of rows (0-based), and how many pages there are.
 * @template T @param {T[]} rows @param {number} page @param {number} [size]
 */
export function pageOf(rows, page, size = pageSize) {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const p = ((page % pages) + pages) % pages;
  return { rows: rows.slice(p * size, (p + 1) * size), page: p, pages };
}

/** The table on the page: 20 rows built once, text rewritten only where it changed. */
export class CommuneTable {
  /**
   * @param {HTMLElement} root the table view's element
   * @param {{ onSort: (column: string) => void, onPage: (delta: number) => void, carriers: string[] }} o
   */
  constructor(root, o) {
    this.root = root;
    this.o = o;
    root.innerHTML = "";
    const head = document.createElement("div");
    head.className = "ct-head";
    const h = document.createElement("h2");
    h.dataset.i18n = "table_title";
    const pager = document.createElement("div");
    pager.className = "ct-pager";
    const prev = button("‹", "ct-prev");
    const next = button("›", "ct-next");
    this.pageText = document.createElement("span");
    this.pageText.className = "ct-page";
    prev.addEventListener("click", () => o.onPage(-1));
    next.addEventListener("click", () => o.onPage(1));
    pager.append(prev, this.pageText, next);
    this.note = document.createElement("span");
    this.note.className = "ct-note";
    head.append(h, this.note, pager);

    const table = document.createElement("table");
    table.className = "communes";
    const thead = document.createElement("thead");
    const tr = document.createElement("tr");
    /** @type {Map<string, HTMLElement>} */
    this.headers = new Map();
    for (const c of columns) {
      const th = document.createElement("th");
      th.dataset.col = c;
      th.dataset.i18n = `col_${c}`;
      th.tabIndex = 0;
      th.setAttribute("role", "columnheader");
      th.addEventListener("click", () => o.onSort(c));
      th.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") o.onSort(c);
      });
      this.headers.set(c, th);
      tr.append(th);
    }
    thead.append(tr);
    this.body = document.createElement("tbody");
    /** @type {HTMLTableRowElement[]} */
    this.rows = [];
    for (let i = 0; i < pageSize; i++) {
      const row = document.createElement("tr");
      row.hidden = true;
      const name = document.createElement("td");
      name.className = "c-name";
      const strong = document.createElement("span");
      strong.className = "c-commune";
      const small = document.createElement("span");
      small.className = "c-former";
      name.append(strong, small);
      row.append(name);
      for (const c of columns.slice(1)) {
        const td = document.createElement("td");
        td.className = `c-${c}`;
        row.append(td);
      }
      this.rows.push(row);
      this.body.append(row);
    }
    table.append(thead, this.body);
    root.append(head, table);
  }

  /**
   * @param {CommuneRow[]} rows sorted, all of them
   * @param {{ page: number, column: string, dir: "asc"|"desc", lang: "vi"|"en" }} s
   * @returns {number} the page shown (wrapped)
   */
  render(rows, { page, column, dir, lang }) {
    const p = pageOf(rows, page);
    setText(this.pageText, t(lang, "table_page", { page: p.page + 1, pages: p.pages }));
    setText(this.note, t(lang, "table_note", { n: formatInt(rows.length, lang) }));
    for (const [c, th] of this.headers) {
      const sorted = c === column;
      th.setAttribute("aria-sort", sorted ? (dir === "asc" ? "ascending" : "descending") : "none");
      if (th.dataset.sorted !== String(sorted)) th.dataset.sorted = String(sorted);
    }
    this.rows.forEach((tr, i) => {
      const r = p.rows[i];
      tr.hidden = !r;
      if (!r) return;
      tr.dataset.code = r.code;
      const cells = /** @type {HTMLElement[]} */ ([...tr.children]);
      setText(/** @type {HTMLElement} */ (cells[0]?.firstChild), r.name);
      setText(/** @type {HTMLElement} */ (cells[0]?.lastChild), lang === "vi" ? r.formerVi : r.formerEn);
      setText(cells[1] ?? null, formatInt(r.mobile, lang));
      setText(cells[2] ?? null, formatInt(r.bts, lang));
      setText(cells[3] ?? null, formatInt(r.btsDown, lang));
      cells[3]?.classList.toggle("hot", (r.btsDown ?? 0) > 0);
      setText(cells[4] ?? null, formatInt(r.received, lang));
      setText(cells[5] ?? null, formatPercent(r.ontime, lang));
      setText(cells[6] ?? null, formatInt(r.esign, lang));
      const names = this.o.carriers.filter((c) => r.reported.includes(c)).map((c) => shortNames[c] ?? c);
      setText(cells[7] ?? null, names.length ? names.join(" · ") : dash);
      if (cells[7]) cells[7].dataset.n = String(names.length);
    });
    return p.page;
  }
}

/** @param {string} text @param {string} cls */
function button(text, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `btn ${cls}`;
  b.textContent = text;
  return b;
}

/** @param {HTMLElement|null} el @param {string} text */
function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}
