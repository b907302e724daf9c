/**
 * The area picker: the province, each former district (its roll-up) and its communes and wards
 * in force today, grouped by former district; with a type-ahead that ignores diacritics, đ
 * included ("cua lo" finds Phường Cửa Lò, "nghia dan" Xã Nghĩa Đàn).
 *
 * `foldText` and `searchAreas` are pure (tested without a browser); `AreaPicker` draws the select
 * and the search box.
 */
import { areaName, byVietnamese, mapOn } from "./aggregate.js";
import { t } from "./i18n.js";

/** @typedef {import("./aggregate.js").WallConfig} WallConfig */
/** @typedef {{ code: string, scope: "province"|"former_district"|"commune"|string, name_vi: string, name_en: string, group: string, fold: string }} AreaOption */

/**
 * Lower case, without diacritics: "Phường Cửa Lò" → "phuong cua lo", "Đàn" → "dan" (đ is a letter
 * of its own, not a d with a mark, so NFD does not take it apart).
 * @param {string} s
 */
export function foldText(s) {
  return s
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[đĐ]/g, "d")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * What the picker offers on `day`: the province, then per former district (by name) its roll-up
 * and its communes (by name).
 * @param {WallConfig} config @param {string} day
 * @returns {AreaOption[]}
 */
export function areaOptions(config, day) {
  const map = mapOn(config, day);
  /** @type {AreaOption[]} */
  const out = [
    {
      code: config.province,
      scope: "province",
      name_vi: t("vi", "province_all"),
      name_en: t("en", "province_all"),
      group: "",
      fold: foldText(`${map.province.name_vi} ${t("vi", "province_all")}`),
    },
  ];
  const grouped = new Set();
  for (const { district, communes } of map.formerDistricts) {
    out.push({
      code: district.code,
      scope: "former_district",
      name_vi: district.name_vi,
      name_en: district.name_en,
      group: district.code,
      fold: foldText(district.name_vi),
    });
    for (const c of communes) {
      grouped.add(c.code);
      out.push({
        code: c.code,
        scope: c.level,
        name_vi: c.name_vi,
        name_en: areaName(c, "en"),
        group: district.code,
        fold: foldText(c.name_vi),
      });
    }
  }
  // Before the cut-over (or a map without former districts): the areas in force, ungrouped.
  for (const a of map.leaves.values())
    if (!grouped.has(a.code))
      out.push({ code: a.code, scope: a.level, name_vi: a.name_vi, name_en: areaName(a, "en"), group: "", fold: foldText(a.name_vi) });
  return out;
}

/**
 * The options whose name holds every word of `query` (diacritics ignored), best first: a name
 * that starts with the query, then a word of it that does, then the rest; communes before former
 * districts of the same rank. A code typed in full finds its area too.
 * @param {AreaOption[]} options @param {string} query @param {number} [limit]
 */
export function searchAreas(options, query, limit = 12) {
  const q = foldText(query);
  if (!q) return [];
  const words = q.split(" ");
  /** @type {{ o: AreaOption, rank: number }[]} */
  const hits = [];
  for (const o of options) {
    if (o.code === q) {
      hits.push({ o, rank: -1 });
      continue;
    }
    if (!words.every((w) => o.fold.includes(w))) continue;
    // Ranked on the name without its type (Phường, Xã, Huyện…): "cua lo" starts "Cửa Lò".
    const bare = o.fold.replace(/^(phuong|xa|thi xa|thi tran|huyen|thanh pho|tinh) /, "");
    const rank = (bare.startsWith(q) ? 0 : ` ${bare}`.includes(` ${q}`) ? 1 : 2) * 2 + (o.scope === "former_district" ? 1 : 0);
    hits.push({ o, rank });
  }
  hits.sort((a, b) => a.rank - b.rank || byVietnamese(a.o.name_vi, b.o.name_vi));
  return hits.slice(0, limit).map((h) => h.o);
}

/** The select (grouped by former district) and the search box above its results. */
export class AreaPicker {
  /**
   * @param {{ select: HTMLSelectElement, input: HTMLInputElement, results: HTMLElement, onPick: (code: string) => void }} o
   */
  constructor(o) {
    this.o = o;
    /** @type {AreaOption[]} */
    this.options = [];
    /** @type {AreaOption[]} */
    this.hits = [];
    this.active = 0;
    /** @type {"vi"|"en"} */
    this.lang = "vi";
    o.select.addEventListener("change", () => o.onPick(o.select.value));
    o.input.addEventListener("input", () => this.search());
    o.input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (this.hits.length) this.active = (this.active + (ev.key === "ArrowDown" ? 1 : -1) + this.hits.length) % this.hits.length;
        this.drawResults();
      } else if (ev.key === "Enter") {
        const hit = this.hits[this.active];
        if (hit) this.pick(hit.code);
      } else if (ev.key === "Escape") this.close();
    });
    o.input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  /** Rebuilds the select for `day`'s map (at start, and when the map in force changes). @param {WallConfig} config @param {string} day */
  build(config, day) {
    this.options = areaOptions(config, day);
    const sel = this.o.select;
    sel.innerHTML = "";
    /** @type {HTMLElement} */
    let parent = sel;
    for (const a of this.options) {
      if (a.scope === "former_district") {
        const g = document.createElement("optgroup");
        g.dataset.vi = a.name_vi;
        g.dataset.en = a.name_en;
        sel.append(g);
        parent = g;
      } else if (!a.group) parent = sel;
      const opt = document.createElement("option");
      opt.value = a.code;
      opt.dataset.scope = a.scope;
      opt.dataset.vi = a.scope === "former_district" ? t("vi", "former_all", { name: a.name_vi }) : a.name_vi;
      opt.dataset.en = a.scope === "former_district" ? t("en", "former_all", { name: a.name_en }) : a.name_en;
      parent.append(opt);
    }
    this.setLanguage(this.lang);
  }

  /** @param {"vi"|"en"} lang */
  setLanguage(lang) {
    this.lang = lang;
    for (const e of this.o.select.querySelectorAll("option, optgroup")) {
      const el = /** @type {HTMLElement} */ (e);
      const text = el.dataset[lang] ?? "";
      if (el.tagName === "OPTGROUP") /** @type {HTMLOptGroupElement} */ (el).label = text;
      else if (el.textContent !== text) el.textContent = text;
    }
    this.o.input.placeholder = t(lang, "area_find");
    this.drawResults();
  }

  /** @param {string} code */
  show(code) {
    if (this.o.select.value !== code) this.o.select.value = code;
  }

  search() {
    this.hits = searchAreas(this.options, this.o.input.value);
    this.active = 0;
    this.drawResults();
  }

  drawResults() {
    const box = this.o.results;
    box.innerHTML = "";
    box.hidden = this.hits.length === 0;
    this.o.input.setAttribute("aria-expanded", String(!box.hidden));
    this.hits.forEach((a, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.code = a.code;
      li.setAttribute("aria-selected", String(i === this.active));
      const name = document.createElement("span");
      name.className = "r-name";
      name.textContent =
        a.scope === "former_district"
          ? t(this.lang, "former_all", { name: this.lang === "en" ? a.name_en : a.name_vi })
          : this.lang === "en"
            ? a.name_en
            : a.name_vi;
      const group = document.createElement("span");
      group.className = "r-group";
      const fd =
        a.group && a.scope !== "former_district" ? this.options.find((x) => x.code === a.group && x.scope === "former_district") : null;
      group.textContent = fd ? (this.lang === "en" ? fd.name_en : fd.name_vi) : "";
      li.append(name, group);
      // mousedown, not click: the input's blur would close the list first.
      li.addEventListener("mousedown", (ev) => {
        ev.preventDefault();
        this.pick(a.code);
      });
      box.append(li);
    });
  }

  /** @param {string} code */
  pick(code) {
    this.o.input.value = "";
    this.close();
    this.show(code);
    this.o.onPick(code);
  }

  close() {
    this.hits = [];
    this.drawResults();
  }
}
