/**
 * The operations wall screen: two subscriptions on one socket, the figures held in a LiveStore, the tiles
 * rendered from `buildView` at most every `renderMs` and once a second for the clock and the
 * ticking durations. Only text that changed is written to the DOM, and every list has a fixed
 * number of rows, so a day of running does the same work per tick as the first minute.
 *
 * URL parameters: `token` (viewer token, passed to the WebSocket), `area` (a commune's code, a
 * former district's, or 40), `view=table` (the commune table), `kiosk=1` (cycle through the
 * province, the commune table's pages and the former districts, `kiosk_s` seconds each, default
 * 15), `lang` (vi | en; else the last choice, else vi).
 *
 * The page reloads by itself when the gateway's configuration changes (a heartbeat names another
 * hash: new seeds, or midnight UTC+7 of a day the map in force changes).
 */
import { LiveStore, pruneOld } from "./lib/store.js";
import { LiveClient } from "./lib/live-client.js";
import { ServerClock } from "./lib/server-clock.js";
import { buildView, dayOf, scopeOf, services, shortNames, techs } from "./lib/aggregate.js";
import { AreaPicker } from "./lib/area-picker.js";
import { CommuneTable, communeRows, pageOf, sortRows } from "./lib/commune-table.js";
import { t, pickLanguage } from "./lib/i18n.js";
import { dash, formatDate, formatDuration, formatInt, formatPercent, formatTime, formatWeekday, localDay } from "./lib/format.js";

// Two subscriptions on one socket: the figures, and only the stations that are down (the
// gateway filters bts_station by its value's status, and still sends the delta of a station that
// leaves the filter). The whole station list would be some 1.7 MB of snapshot per connect for the
// province's 8,176 stations; the down ones are a few kB. The figures are the gateway's roll-ups
// (one key per area in force, on today's map) and KPIs, never the raw day keys: the snapshot
// stays the same size however many days the gateway holds (docs/live-protocol.md).
const subscriptions = [
  { id: "wall", topics: ["rollup", "kpi", "egov_minute", "freshness"] },
  { id: "wall-down", topics: ["bts_station"], filter: { status: "down" } },
];
const renderMs = 250;

const alarmRows = 6;
const params = new URLSearchParams(location.search);
/** Seconds per page when cycling: `?kiosk_s=`, at least 1, default 15. */
const kioskMs = Math.max(1, Number(params.get("kiosk_s")) || 15) * 1000;

/** @type {"vi"|"en"} */
let lang = pickLanguage(params.get("lang"), safeGet("pulse.wall.lang"));
let store = new LiveStore();
const clock = new ServerClock(() => performance.now());
/** @type {any} */
let config = null;
let area = "40";
/** @type {"tiles"|"table"} */
let view = params.get("view") === "table" ? "table" : "tiles";
let tablePage = 0;
let tableSort = { column: "name", dir: /** @type {"asc"|"desc"} */ ("asc") };
/** @type {AreaPicker|null} */
let picker = null;
/** @type {CommuneTable|null} */
let table = null;
let kiosk = params.get("kiosk") === "1";
/** Where the kiosk cycle is. */
let kioskStep = 0;
/** @type {any} */
let kioskTimer = null;
let linkState = "connecting";
/** @type {string[]} */
let behindWhy = [];
/** @type {any} */
let renderTimer = null;
let lastRender = 0;
/** Per tile: its main figure as last rendered, and when (server time) it last changed. */
const changed = new Map();
/** @type {any} */
let spark = null;

function safeGet(/** @type {string} */ k) {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
}
function safeSet(/** @type {string} */ k, /** @type {string} */ v) {
  try {
    localStorage.setItem(k, v);
  } catch {}
}

const $ = (/** @type {string} */ sel, root = document) => /** @type {HTMLElement} */ (root.querySelector(sel));
const tile = (/** @type {string} */ id) => $(`#t-${id}`);
const field = (/** @type {HTMLElement} */ root, /** @type {string} */ name) => $(`[data-v="${name}"]`, root);

/** Writes text only when it differs: the wall rewrites a handful of nodes per tick, not the page. */
function setText(/** @type {HTMLElement|null} */ el, /** @type {string} */ text) {
  if (el && el.textContent !== text) el.textContent = text;
}
function setClass(/** @type {HTMLElement|null} */ el, /** @type {string} */ name, /** @type {boolean} */ on) {
  if (el && el.classList.contains(name) !== on) el.classList.toggle(name, on);
}
function setStyle(/** @type {HTMLElement|null} */ el, /** @type {string} */ prop, /** @type {string} */ value) {
  if (el && el.style.getPropertyValue(prop) !== value) el.style.setProperty(prop, value);
}
/**
 * A bar's length as a transform (the compositor animates it; a width would lay out the page on
 * every frame of every transition).
 * @param {number} r 0–1
 */
function scaleX(r) {
  return `scaleX(${Math.max(0, Math.min(1, r)).toFixed(4)})`;
}
function el(/** @type {string} */ tag, /** @type {string} */ cls = "", /** @type {string} */ text = "") {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

// --- building the page once ------------------------------------------------------------------

function buildSubscriberTiles() {
  for (const service of services) {
    const root = tile(service);
    root.innerHTML = "";
    const head = el("div", "head");
    const h = el("h2");
    h.dataset.i18n = service;
    head.append(h, el("span", "badge"));
    const big = el("div", "big");
    const v = el("span", "value", dash);
    v.dataset.v = "value";
    big.append(v);
    const list = el("ul", "carriers");
    list.dataset.v = "carriers";
    for (const c of carriersOf(config)) {
      const li = el("li");
      li.dataset.carrier = c;
      li.style.setProperty("--c", `var(--carrier-${c}, #94a3b8)`);
      const bar = el("span", "cbar");
      bar.append(el("span", "cfill"));
      li.append(el("span", "cname", shortNames[c] ?? c), bar, el("span", "cval", dash));
      list.append(li);
    }
    const foot = el("div", "foot");
    foot.append(el("span", "complete"), el("span", "changed"));
    root.append(head, big, list, foot);
  }
}

function carriersOf(/** @type {any} */ cfg) {
  return cfg.sources.filter((/** @type {any} */ s) => s.feeds && s.feeds.subscribers).map((/** @type {any} */ s) => s.id);
}

function buildTechRows() {
  const body = field(tile("bts"), "techs");
  body.innerHTML = "";
  for (const tech of techs) {
    const tr = el("tr");
    tr.dataset.tech = tech;
    tr.append(el("th", "", tech), el("td", "up", dash), el("td", "degraded", dash), el("td", "down", dash));
    body.append(tr);
  }
}

function buildAlarmRows() {
  const body = field(tile("alarms"), "rows");
  body.innerHTML = "";
  for (let i = 0; i < alarmRows; i++) {
    const tr = el("tr");
    tr.hidden = true;
    tr.append(
      el("td", "a-area"),
      el("td", "a-former"),
      el("td", "a-station"),
      el("td", "a-carrier"),
      el("td", "a-tech"),
      el("td", "a-for"),
    );
    body.append(tr);
  }
}

function buildFeeds() {
  const root = field(tile("complete"), "feeds");
  root.innerHTML = "";
  for (const feed of ["subscribers", "bts", "esign", "egov"]) {
    const box = el("div", "feed");
    box.dataset.feed = feed;
    const top = el("div", "feed-top");
    const name = el("span", "feed-name");
    name.dataset.i18n = `feed_${feed}`;
    top.append(name, el("span", "feed-count"));
    const chips = el("div", "chips");
    for (const s of config.sources.filter((/** @type {any} */ s) => s.feeds && s.feeds[feed])) {
      const chip = el("span", "chip", shortNames[s.id] ?? s.name);
      chip.dataset.source = s.id;
      chips.append(chip);
    }
    box.append(top, chips);
    root.append(box);
  }
}

function buildAreaPicker() {
  picker = new AreaPicker({
    select: /** @type {HTMLSelectElement} */ ($("#area")),
    input: /** @type {HTMLInputElement} */ ($("#area-find")),
    results: $("#area-results"),
    onPick: (code) => {
      setKiosk(false);
      setView("tiles");
      setArea(code);
    },
  });
  picker.build(config, dayOf(config, clock.now()));
  picker.show(area);
}

function buildTable() {
  table = new CommuneTable($("#table-view"), {
    carriers: carriersOf(config),
    onSort: (column) => {
      // A new column sorts the largest first (the name A to Z); the same column again reverses it.
      tableSort =
        tableSort.column === column
          ? { column, dir: tableSort.dir === "asc" ? "desc" : "asc" }
          : { column, dir: column === "name" ? "asc" : "desc" };
      tablePage = 0;
      render(true);
    },
    onPage: (delta) => {
      setKiosk(false);
      tablePage += delta;
      render(true);
    },
  });
}

async function buildSpark() {
  try {
    const { default: uPlot } = await import("/vendor/uPlot.esm.js");
    const host = field(tile("egov"), "spark");
    const w = host.clientWidth || 400;
    const h = host.clientHeight || 110;
    spark = new uPlot(
      {
        width: w,
        height: h,
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        padding: [6, 22, 0, 22],
        scales: { x: { time: true }, y: { range: (/** @type {any} */ _u, _min, max) => [0, Math.max(4, max * 1.15)] } },
        axes: [
          {
            stroke: "#7d8aa5",
            grid: { show: false },
            ticks: { show: false },
            size: 22,
            font: "13px system-ui, 'Noto Sans', sans-serif",
            space: 90,
            // Minutes in UTC+7 whatever the browser's zone (labels built from the epoch seconds).
            values: (/** @type {any} */ _u, /** @type {number[]} */ vals) => vals.map((v) => formatTime(v * 1000).slice(0, 5)),
          },
          { show: false },
        ],
        series: [
          {},
          {
            stroke: "#a78bfa",
            width: 2,
            fill: "rgba(167,139,250,0.18)",
            points: { show: false },
          },
        ],
      },
      [[], []],
      host,
    );
  } catch {
    // No chart library: the figures above and below the chart still show.
  }
}

// --- i18n --------------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = lang;
  for (const e of document.querySelectorAll("[data-i18n]"))
    setText(/** @type {HTMLElement} */ (e), t(lang, /** @type {any} */ (e).dataset.i18n));
  for (const e of document.querySelectorAll("[data-i18n-title]"))
    /** @type {HTMLElement} */ (e).title = t(lang, /** @type {any} */ (e).dataset.i18nTitle);
  picker?.setLanguage(lang);
  const b = $("#lang");
  setText(b, t(lang, "lang_toggle"));
  b.title = t(lang, "lang_toggle_title");
  document.title = `Pulse — ${t(lang, "title")}`;
  render(true);
}

// --- areas and kiosk ---------------------------------------------------------------------------

function setArea(/** @type {string} */ code) {
  if (scopeOf(config, dayOf(config, clock.now()), code) === null) code = config.province;
  area = code;
  picker?.show(code);
  // A figure that changes because the area did is not a change of the figure.
  changed.clear();
  render(true);
}

function setView(/** @type {"tiles"|"table"} */ v) {
  view = v;
  const b = $("#view-table");
  b.setAttribute("aria-pressed", String(v === "table"));
  setClass(b, "on", v === "table");
  $("main.grid").hidden = v !== "tiles";
  $("#table-view").hidden = v !== "table";
  render(true);
}

/**
 * The kiosk's cycle: the province, every page of the commune table, then each former district
 * (its roll-up), `kiosk_s` seconds each. Not 130 communes one by one: the table shows them 20 at a time.
 */
function kioskSteps() {
  const day = dayOf(config, clock.now());
  const pages = pageOf(communeRows(store, config, { nowMs: clock.now() }), 0).pages;
  /** @type {{ view: "tiles"|"table", area?: string, page?: number }[]} */
  const steps = [{ view: "tiles", area: config.province }];
  for (let p = 0; p < pages; p++) steps.push({ view: "table", page: p });
  const fds = config.today && config.today.day === day ? config.today.former_districts.map((d) => d.code) : [];
  for (const code of fds) steps.push({ view: "tiles", area: code });
  return steps;
}

function setKiosk(/** @type {boolean} */ on) {
  kiosk = on;
  clearInterval(kioskTimer);
  const b = $("#kiosk");
  b.setAttribute("aria-pressed", String(on));
  setClass(b, "on", on);
  if (!on) return;
  kioskStep = 0;
  const show = () => {
    const steps = kioskSteps();
    const s = steps[kioskStep % steps.length];
    if (!s) return;
    if (s.view === "table") {
      tablePage = s.page ?? 0;
      if (view !== "table") setView("table");
      else render(true);
    } else {
      if (view !== "tiles") setView("tiles");
      setArea(s.area ?? config.province);
    }
  };
  show();
  kioskTimer = setInterval(() => {
    kioskStep = (kioskStep + 1) % kioskSteps().length;
    show();
  }, kioskMs);
}

// --- live link ---------------------------------------------------------------------------------

function connect() {
  const token = params.get("token");
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/live${token ? `?token=${encodeURIComponent(token)}` : ""}`;
  const client = new LiveClient({
    url,
    subscriptions,
    WebSocket,
    onSnapshot: (entries, { topics }) => {
      // Built aside and swapped in whole: never half the old state and half the new.
      store.replaceMetrics(topics, entries);
      changed.clear();
      scheduleRender();
    },
    onResumed: () => {
      // The derived topics' versions are the serving gateway's clock; another gateway's may lag.
      store.forgetVersions("kpi");
      store.forgetVersions("freshness");
    },
    onDelta: (entries) => {
      if (store.apply(entries).size) scheduleRender();
    },
    onHeartbeat: (now, behind, why, frame) => {
      clock.set(now);
      reloadIfChanged(frame?.config);
      behindWhy = behind === true ? (Array.isArray(why) ? why.map(String) : ["?"]) : [];
    },
    onState: (s) => {
      linkState = s;
      render(true);
    },
    silenceMs: 20_000,
  });
  client.start();
  /** @type {any} */ (window).pulseWall = {
    client,
    get store() {
      return store;
    },
    clock,
  };
}

/**
 * The gateway's configuration changed (new seeds, or the map in force changed at midnight): load
 * the page again, at most once a minute (two gateways that disagree must not make it flicker).
 * @param {unknown} hash
 */
function reloadIfChanged(hash) {
  if (typeof hash !== "string" || !config.hash || hash === config.hash) return;
  const last = Number(safeSessionGet("pulse.wall.reloaded") ?? 0);
  if (Date.now() - last < 60_000) return;
  try {
    sessionStorage.setItem("pulse.wall.reloaded", String(Date.now()));
  } catch {}
  location.reload();
}
function safeSessionGet(/** @type {string} */ k) {
  try {
    return sessionStorage.getItem(k);
  } catch {
    return null;
  }
}

// --- rendering ---------------------------------------------------------------------------------

function scheduleRender() {
  if (renderTimer) return;
  const wait = Math.max(0, renderMs - (performance.now() - lastRender));
  renderTimer = setTimeout(() => {
    renderTimer = null;
    render(false);
  }, wait);
}

/**
 * The freshness badge, the completeness line and the "changed at" line of one tile.
 * `figure` is the tile's figure in a form independent of the language, so a toggle is no change.
 * @param {HTMLElement} root @param {any} feed @param {string} figure @param {number|null} now
 */
function tileMeta(root, feed, figure, now) {
  // While the link is down nobody can vouch for a feed's state: the badge says so.
  const badge = $(".badge", root);
  if (badge) {
    const s = linkState === "live" ? (feed?.state ?? "unknown") : "offline";
    setText(badge, t(lang, `state_${s}`));
    badge.dataset.state = s;
  }
  const stale = !feed || feed.state !== "fresh" || linkState !== "live";
  setClass(root, "stale", stale);
  root.dataset.state = feed?.state ?? "unknown";
  const complete = $(".complete", root);
  if (complete && feed)
    setText(complete, t(lang, feed.kind === "carrier" ? "reported_carrier" : "reported_system", { n: feed.reported, total: feed.total }));
  // When the figure last changed, in server time: seen live here, else the feed's last receipt.
  const id = root.id;
  const prev = changed.get(id);
  if (!prev) changed.set(id, { figure, at: null });
  else if (prev.figure !== figure) changed.set(id, { figure, at: now });
  const at = changed.get(id).at;
  const line = $(".changed", root);
  if (line)
    setText(
      line,
      at !== null
        ? t(lang, "changed_at", { time: formatTime(at) })
        : feed?.lastReceivedMs
          ? t(lang, "received_at", { time: formatTime(feed.lastReceivedMs) })
          : t(lang, "no_data"),
    );
}

function gauge(/** @type {HTMLElement} */ root, /** @type {number|null} */ value, /** @type {number|null} */ target) {
  setStyle(field(root, "fill"), "transform", scaleX(value ?? 0));
  setStyle(field(root, "target-mark"), "left", target === null ? "-10px" : `${(target * 100).toFixed(2)}%`);
  setText(
    field(root, "target"),
    target === null ? "" : t(lang, "target", { value: formatPercent(target, lang, target * 100 === Math.round(target * 100) ? 0 : 1) }),
  );
  const d = field(root, "delta");
  if (value === null || target === null) {
    setText(d, "");
    setClass(root, "below", false);
  } else {
    const pts = (value - target) * 100;
    setText(
      d,
      `${pts >= 0 ? "+" : "−"}${formatPercent(Math.abs(pts) / 100, lang)}`.replace(/\s?%$/, lang === "vi" ? "\u00a0điểm" : " pts"),
    );
    setClass(root, "below", pts < 0);
  }
}

function render(/** @type {boolean} */ force) {
  if (!config) return;
  if (!force) lastRender = performance.now();
  const now = clock.now();
  if (now !== null) {
    const day = localDay(now);
    pruneOld(store, { today: day, yesterday: localDay(now - 86_400_000), nowMs: now });
  }
  const v = buildView(store, config, { area, nowMs: now, alarmRows });
  setText($("#retired"), v.retired > 0 ? t(lang, "retired_readings", { n: formatInt(v.retired, lang) }) : "");
  if (view === "table" && table) {
    const rows = sortRows(communeRows(store, config, { nowMs: now }), tableSort.column, tableSort.dir);
    tablePage = table.render(rows, { page: tablePage, column: tableSort.column, dir: tableSort.dir, lang });
  }

  // Header: server time in UTC+7, link state, banner.
  setText($("#time"), now === null ? "--:--:--" : formatTime(now));
  setText($("#date"), now === null ? "--/--/----" : formatDate(now));
  setText($("#weekday"), now === null ? "" : formatWeekday(now, lang));
  const link = $("#link");
  link.dataset.state = linkState;
  setText(
    $("#link-text"),
    t(
      lang,
      linkState === "live"
        ? "conn_live"
        : linkState === "denied"
          ? "conn_denied_short"
          : linkState === "lost"
            ? "conn_lost_short"
            : "conn_connecting",
    ),
  );
  for (const c of ["connecting", "live", "lost", "denied"]) setClass(document.body, c, linkState === c);
  const banner = $("#banner");
  const lost = linkState === "lost" || linkState === "denied";
  const behind = linkState === "live" && behindWhy.length > 0;
  banner.hidden = !lost && !behind;
  banner.dataset.kind = lost ? "lost" : "behind";
  setText($("#banner-text"), lost ? t(lang, linkState === "denied" ? "conn_denied" : "conn_lost") : behind ? t(lang, "conn_behind") : "");
  setText($("#banner-note"), lost ? t(lang, "conn_stale_note") : "");
  setClass(document.body, "behind", behind);

  // Subscribers, per carrier.
  for (const service of services) {
    const root = tile(service);
    const s = v.subscribers[service];
    const total = formatInt(s.total, lang);
    setText(field(root, "value"), total);
    const max = Math.max(1, ...s.byCarrier.map((/** @type {any} */ c) => c.value ?? 0));
    for (const c of s.byCarrier) {
      const li = /** @type {HTMLElement|null} */ (root.querySelector(`li[data-carrier="${c.id}"]`));
      if (!li) continue;
      setText($(".cval", li), formatInt(c.value, lang));
      setStyle($(".cfill", li), "transform", scaleX((c.value ?? 0) / max));
      li.dataset.state = c.state;
      li.title = c.state === "fresh" ? "" : t(lang, `state_${c.state}`);
    }
    tileMeta(root, v.feeds.subscribers, String(s.total), now);
  }

  // FTTH against the households, coverage against its baseline.
  {
    const root = tile("ftth");
    const value = formatInt(v.ftth.households, lang);
    setText(field(root, "value"), value);
    setText(field(root, "of"), v.ftth.of ? t(lang, "ftth_of", { households: formatInt(v.ftth.of, lang) }) : t(lang, "ftth_no_ratio"));
    setText(field(root, "coverage"), formatPercent(v.ftth.coverage, lang));
    gauge(root, v.ftth.coverage, v.ftth.target);
    tileMeta(root, v.feeds.subscribers, String(v.ftth.households), now);
  }

  // BTS by technology.
  {
    const root = tile("bts");
    setText(field(root, "total"), formatInt(v.bts.total, lang));
    setText(field(root, "down"), formatInt(v.bts.down, lang));
    setClass(root, "alarm", (v.bts.down ?? 0) > 0);
    for (const r of v.bts.rows) {
      const tr = /** @type {HTMLElement|null} */ (root.querySelector(`tr[data-tech="${r.tech}"]`));
      if (!tr) continue;
      const seen = v.bts.total !== null;
      setText($(".up", tr), seen ? formatInt(r.up, lang) : dash);
      setText($(".degraded", tr), seen ? formatInt(r.degraded, lang) : dash);
      setText($(".down", tr), seen ? formatInt(r.down, lang) : dash);
      setClass($(".down", tr), "hot", r.down > 0);
    }
    tileMeta(root, v.feeds.bts, `${v.bts.total}|${v.bts.down}|${v.bts.degraded}`, now);
  }

  // Stations down, longest first, durations ticking from the server's time.
  {
    const root = tile("alarms");
    setText(field(root, "count"), formatInt(v.alarms.total, lang));
    setClass(root, "alarm", v.alarms.total > 0);
    const rows = /** @type {HTMLElement[]} */ ([...field(root, "rows").children]);
    rows.forEach((tr, i) => {
      const a = v.alarms.rows[i];
      tr.hidden = !a;
      if (!a) return;
      const cells = /** @type {HTMLElement[]} */ ([...tr.children]);
      setText(cells[0] ?? null, lang === "vi" ? a.areaVi : a.areaEn);
      setText(cells[1] ?? null, lang === "vi" ? a.formerVi : a.formerEn);
      setText(cells[2] ?? null, a.station);
      setText(cells[3] ?? null, a.carrier);
      setText(cells[4] ?? null, a.tech);
      setText(cells[5] ?? null, a.forMs === null ? dash : formatDuration(a.forMs, lang));
    });
    field(root, "empty").hidden = v.alarms.total > 0 || v.bts.total === null;
    setText(
      field(root, "more"),
      v.alarms.total > alarmRows ? t(lang, "alarms_more", { n: formatInt(v.alarms.total - alarmRows, lang) }) : "",
    );
    tileMeta(root, v.feeds.bts, String(v.alarms.total), now);
  }

  // Reporting completeness per feed.
  {
    const root = tile("complete");
    for (const box of /** @type {HTMLElement[]} */ ([...root.querySelectorAll(".feed")])) {
      const f = v.feeds[/** @type {string} */ (box.dataset.feed)];
      if (!f) continue;
      box.dataset.state = f.state;
      setText(
        $(".feed-count", box),
        t(lang, f.kind === "carrier" ? "reported_carrier" : "reported_system", { n: f.reported, total: f.total }),
      );
      for (const s of f.sources) {
        const chip = /** @type {HTMLElement|null} */ (box.querySelector(`[data-source="${s.id}"]`));
        if (!chip) continue;
        chip.dataset.state = s.state;
        setText(chip, s.state === "fresh" ? s.name : `${s.name} · ${t(lang, `state_${s.state}`)}`);
        chip.title = `${t(lang, `state_${s.state}`)}${s.lastReceivedMs ? ` · ${formatTime(s.lastReceivedMs)}` : ""}`;
      }
    }
  }

  // E-documents today and the signing rate.
  {
    const root = tile("esign");
    const value = formatInt(v.esign.exchanged, lang);
    setText(field(root, "value"), value);
    setText(field(root, "rate"), formatPercent(v.esign.rate, lang));
    gauge(root, v.esign.rate, v.esign.target);
    tileMeta(root, v.feeds.esign, `${v.esign.exchanged}|${v.esign.rate}`, now);
  }

  // Dossier steps received per minute, the last hour.
  {
    const root = tile("egov");
    const value = v.egov.lastMinute === null ? dash : formatInt(v.egov.lastMinute, lang);
    setText(field(root, "value"), value);
    setText(field(root, "hour"), t(lang, "egov_hour", { n: formatInt(v.egov.hour, lang) }));
    setText(field(root, "scope"), v.whole ? "" : t(lang, "egov_province_wide"));
    if (spark) {
      const key = `${v.egov.series.xs[0] ?? ""}|${v.egov.series.ys.join(",")}`;
      if (spark._pulseKey !== key) {
        spark._pulseKey = key;
        spark.setData([v.egov.series.xs, v.egov.series.ys]);
      }
    }
    tileMeta(root, v.feeds.egov, String(v.egov.lastMinute), now);
  }

  // Online share (full and partial), today.
  {
    const root = tile("online");
    const value = formatPercent(v.egov.onlineShare, lang);
    setText(field(root, "value"), value);
    setText(field(root, "full"), formatPercent(v.egov.onlineFullShare, lang));
    setText(field(root, "partial"), formatPercent(v.egov.onlinePartialShare, lang));
    // Two layers: online (full + partial) behind, fully online in front.
    setStyle(field(root, "full-bar"), "transform", scaleX(v.egov.onlineFullShare ?? 0));
    setStyle(field(root, "partial-bar"), "transform", scaleX(v.egov.onlineShare ?? 0));
    setText(
      field(root, "received"),
      v.egov.receivedToday === null ? "" : t(lang, "egov_received_today", { n: formatInt(v.egov.receivedToday, lang) }),
    );
    tileMeta(root, v.feeds.egov, String(v.egov.onlineShare), now);
  }

  // On-time rate, today.
  {
    const root = tile("ontime");
    const value = formatPercent(v.egov.ontimeRate, lang);
    setText(field(root, "value"), value);
    gauge(root, v.egov.ontimeRate, v.egov.ontimeTarget);
    setText(
      field(root, "counts"),
      v.egov.onTime === null
        ? ""
        : t(lang, "ontime_counts", { ontime: formatInt(v.egov.onTime, lang), late: formatInt(v.egov.late, lang) }),
    );
    tileMeta(root, v.feeds.egov, String(v.egov.ontimeRate), now);
  }
}

// --- start -------------------------------------------------------------------------------------

async function loadConfig() {
  for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
    try {
      // The server says no-cache: always fresh, and the page's preload of it is used.
      const r = await fetch("/config.json");
      if (r.ok) return await r.json();
    } catch {}
    await new Promise((r) => setTimeout(r, wait));
  }
}

async function main() {
  config = await loadConfig();
  setText($("#operator"), config.operator_name ?? "");
  buildSubscriberTiles();
  buildTechRows();
  buildAlarmRows();
  buildFeeds();
  buildAreaPicker();
  buildTable();
  $("#lang").addEventListener("click", () => {
    lang = lang === "vi" ? "en" : "vi";
    safeSet("pulse.wall.lang", lang);
    applyLanguage();
  });
  $("#kiosk").addEventListener("click", () => setKiosk(!kiosk));
  $("#view-table").addEventListener("click", () => {
    setKiosk(false);
    setView(view === "table" ? "tiles" : "table");
  });
  const wanted = params.get("area");
  if (wanted) setArea(wanted);
  setView(view);
  applyLanguage();
  // The socket first: the figures are on their way while the chart library loads.
  connect();
  void buildSpark();
  setKiosk(kiosk);
  // The clock and the down durations tick every second whatever the traffic.
  setInterval(() => render(false), 1000);
  document.body.dataset.ready = "1";
}

void main();
