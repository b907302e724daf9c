import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./support/chromium";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, startLive, type Live } from "@pulse/live";
import type { LiveClient } from "../services/live/wall/lib/live-client.js";

/** What the page exposes for diagnostics (app.js: window.pulseWall). */
type WallWindow = { pulseWall: { client: LiveClient } };

// The wall screen in headless Chromium, fed by the real pipeline: producers publish over NATS,
// ingest commits to Postgres and relays the change log to LIVE, the gateway serves the page and
// pushes the figures over its WebSocket. Nothing here is mocked; the gateway's clock for
// freshness is moved forward (its `clock` option) so a feed turns late without a 10-minute wait.
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19) + "+07:00";
const token = "wall-secret";
const cadenceMs = 300_000; // seeds: every carrier's subscribers feed
/** WALL_TEST_SHOTS=<dir>: save what the screen looked like at each step (for a reviewer's eyes). */
const shots = process.env.WALL_TEST_SHOTS;

describe("wall screen in a browser", () => {
  let h: Harness;
  let live: Live | null = null;
  let port = 0;
  let browser: Browser;
  let page: Page;
  let ahead = 0; // how far the gateway's clock runs ahead of the machine's
  let n = 0;
  const clock = () => Date.now() + ahead;
  const start = async (p: number) =>
    startLive(
      loadConfig(
        {
          DATABASE_URL: h.database.url,
          NATS_URL: h.config.natsUrl,
          LIVE_PORT: String(p),
          LIVE_ADMIN_PORT: "0",
          LIVE_HEARTBEAT_MS: "500",
          LIVE_TOKENS: token,
          LOG_LEVEL: "silent",
        },
        { names: h.names },
      ),
      { clock },
    );
  // Each reading a whole second after the one before (ts has seconds only, and a gauge keeps the
  // reading latest by (ts, revision, id)), so a later reading always replaces an earlier one.
  let lastTs = 0;
  const reading = (source: string, area: string, count: number) => {
    lastTs = Math.max(lastTs + 1000, Date.now() - 1000);
    return h.publish(
      "subscribers",
      source,
      make.subscribers(`r${String(++n).padStart(4, "0")}`, "mobile", count, { area, ts: local(lastTs) }),
    );
  };
  const text = (sel: string) => page.locator(sel).first();
  const carrier = (id: string) => page.locator(`#t-mobile li[data-carrier="${id}"]`);
  let vietnamobileHeardAt = 0;

  beforeAll(async () => {
    h = await ingestHarness("wall_browser");
    live = await start(0);
    port = live.port;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  });
  afterAll(async () => {
    await browser?.close();
    await live?.close();
    await h?.close();
  });

  it("shows the province figure in vi-VN format and each carrier's tile change", async () => {
    // Vietnamobile first: the late test below needs its last receipt well before the others'.
    await reading("vietnamobile", "16732", 28_167);
    await h.settle();
    vietnamobileHeardAt = Date.now();

    await page.goto(`http://127.0.0.1:${port}/?token=${token}`);
    await expect.poll(() => page.locator("html").getAttribute("lang")).toBe("vi");
    await expect.poll(() => text("#link").getAttribute("data-state"), { timeout: 15_000 }).toBe("live");
    await expect.poll(() => text("#operator").textContent()).toBe("Sở Khoa học và Công nghệ tỉnh Nghệ An");

    await reading("viettel", "16681", 1_000_000);
    await reading("vinaphone", "16681", 1_500_000);
    await reading("mobifone", "16681", 600_000);
    await h.settle();
    // 1,000,000 + 1,500,000 + 600,000 + 28,167, summed over communes and carriers.
    await expect.poll(() => text('#t-mobile [data-v="value"]').textContent(), { timeout: 10_000 }).toBe("3.128.167");
    await expect.poll(() => carrier("viettel").locator(".cval").textContent()).toBe("1.000.000");
    await expect.poll(() => text("#t-mobile .complete").textContent(), { timeout: 10_000 }).toBe("4/4 nhà mạng đã báo cáo");
    await expect.poll(() => text("#t-mobile").getAttribute("data-state")).toBe("fresh");

    // A new reading from Viettel: its row and the total change, nothing else does.
    await reading("viettel", "16681", 1_000_500);
    await h.settle();
    await expect.poll(() => carrier("viettel").locator(".cval").textContent(), { timeout: 10_000 }).toBe("1.000.500");
    await expect.poll(() => text('#t-mobile [data-v="value"]').textContent()).toBe("3.128.667");
    expect(await carrier("vinaphone").locator(".cval").textContent()).toBe("1.500.000");
    await expect.poll(() => text("#t-mobile .changed").textContent()).toMatch(/^Thay đổi lúc \d\d:\d\d:\d\d$/);

    // A station goes down: the alarm list shows it, its commune and former district, and how long (server time).
    await h.publish("bts", "viettel", make.bts("down-1", "NA-412-0042", "down", { area: "16681", ts: local(Date.now() - 125_000) }));
    await h.settle();
    const alarm = page.locator("#t-alarms tbody tr").first();
    await expect.poll(() => alarm.locator(".a-station").textContent(), { timeout: 10_000 }).toBe("NA-412-0042");
    expect(await alarm.locator(".a-area").textContent()).toBe("Phường Thành Vinh");
    expect(await alarm.locator(".a-former").textContent()).toBe("Thành phố Vinh");
    expect(await alarm.locator(".a-for").textContent()).toMatch(/^2:0\d$/);
    expect(await text('#t-alarms [data-v="count"]').textContent()).toBe("1");
    // It comes back up: it leaves the list (the gateway sends the change that takes it out of the filter).
    await h.publish("bts", "viettel", make.bts("up-1", "NA-412-0042", "up", { area: "16681", ts: local(Date.now() - 1000) }));
    await h.settle();
    await expect.poll(() => text('#t-alarms [data-v="count"]').textContent(), { timeout: 10_000 }).toBe("0");
    expect(await alarm.isVisible()).toBe(false);

    // The commune view, found by typing without diacritics: Phường Cửa Lò holds Vietnamobile's reading only.
    await page.fill("#area-find", "cua lo");
    const hit = page.locator('#area-results li[data-code="16732"]');
    await expect.poll(() => hit.locator(".r-name").textContent()).toBe("Phường Cửa Lò");
    expect(await hit.locator(".r-group").textContent()).toBe("Thành phố Vinh");
    await hit.click();
    await expect.poll(() => page.locator("#area").inputValue()).toBe("16732");
    await expect.poll(() => text('#t-mobile [data-v="value"]').textContent()).toBe("28.167");
    expect(await carrier("vietnamobile").locator(".cval").textContent()).toBe("28.167");
    expect(await carrier("viettel").locator(".cval").textContent()).toBe("—");
    // Below the province: FTTH households, no ratio.
    expect(await text('#t-ftth [data-v="of"]').textContent()).toBe("Không có số hộ theo xã, huyện cũ: không tính tỷ lệ");
    // The former district Vinh: the sum of its communes.
    await page.selectOption("#area", "412");
    await expect.poll(() => text('#t-mobile [data-v="value"]').textContent()).toBe("3.128.667");
    await page.selectOption("#area", "40");
    await expect.poll(() => text('#t-mobile [data-v="value"]').textContent()).toBe("3.128.667");
  });

  it("shows the commune table, 20 rows a page, sorted by stations down", async () => {
    // Two stations down in Phường Cửa Lò, one in Phường Thành Vinh.
    const ago = local(Date.now() - 60_000);
    await h.publish("bts", "viettel", make.bts("t-1", "NA-T-1", "down", { area: "16732", ts: ago }));
    await h.publish("bts", "viettel", make.bts("t-2", "NA-T-2", "down", { area: "16732", ts: ago }));
    await h.publish("bts", "mobifone", make.bts("t-3", "NA-T-3", "down", { area: "16681", ts: ago }));
    await h.publish("bts", "mobifone", make.bts("t-4", "NA-T-4", "up", { area: "16681", ts: ago }));
    await h.settle();
    await page.click("#view-table");
    await expect.poll(() => page.locator("#table-view").isVisible()).toBe(true);
    expect(await page.locator("main.grid").isVisible()).toBe(false);
    await expect.poll(() => page.locator("#table-view tbody tr:not([hidden])").count()).toBe(20);
    expect(await page.locator("#table-view .ct-page").textContent()).toBe("Trang 1/7");
    // Text big enough to read from across the room.
    const size = await page
      .locator("#table-view tbody tr td.c-name")
      .first()
      // (A cast: this file is typed without the DOM library.)
      .evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(el).fontSize);
    expect(parseFloat(size)).toBeGreaterThanOrEqual(18);
    await page.click('#table-view th[data-col="btsDown"]');
    await expect.poll(() => page.locator('#table-view th[data-col="btsDown"]').getAttribute("aria-sort")).toBe("descending");
    const first = page.locator("#table-view tbody tr").first();
    await expect.poll(() => first.locator(".c-commune").textContent(), { timeout: 10_000 }).toBe("Phường Cửa Lò");
    expect(await first.locator(".c-btsDown").textContent()).toBe("2");
    expect(await first.locator(".c-bts").textContent()).toBe("2");
    expect(await first.locator(".c-former").textContent()).toBe("Thành phố Vinh");
    expect(await first.locator(".c-mobile").textContent()).toBe("28.167");
    const second = page.locator("#table-view tbody tr").nth(1);
    expect(await second.locator(".c-commune").textContent()).toBe("Phường Thành Vinh");
    expect(await second.locator(".c-btsDown").textContent()).toBe("1");
    // Carriers that reported for the commune today (subscribers or stations, dated today).
    await expect.poll(() => second.locator(".c-reported").textContent(), { timeout: 10_000 }).toBe("Viettel · VinaPhone · MobiFone");
    await expect.poll(() => first.locator(".c-reported").textContent(), { timeout: 10_000 }).toBe("Viettel · Vietnamobile");
    await page.locator("#table-view .ct-next").click();
    expect(await page.locator("#table-view .ct-page").textContent()).toBe("Trang 2/7");
    if (shots) await page.screenshot({ path: `${shots}/wall-table.png` });
    await page.click("#view-table");
    await expect.poll(() => page.locator("main.grid").isVisible()).toBe(true);
    // The stations go back up (the rest of the file counts no alarm).
    for (const [src, id] of [
      ["viettel", "NA-T-1"],
      ["viettel", "NA-T-2"],
      ["mobifone", "NA-T-3"],
    ] as const)
      await h.publish(
        "bts",
        src,
        make.bts(`${id}-up`, id, "up", { area: id === "NA-T-3" ? "16681" : "16732", ts: local(Date.now() - 1000) }),
      );
    await h.settle();
  });

  it("turns the tile late when a producer stops, keeping its last value with the badge", async () => {
    // Vietnamobile has been quiet for 20 s of real time when the other three report again.
    await new Promise((r) => setTimeout(r, Math.max(0, vietnamobileHeardAt + 20_000 - Date.now())));
    const before = Date.now();
    await reading("viettel", "16681", 1_000_500);
    await reading("vinaphone", "16681", 1_500_000);
    await reading("mobifone", "16681", 600_000);
    await h.settle();
    // Move the gateway's clock so the three are 15 s short of due-and-past (2 cadences) and
    // Vietnamobile, 20 s quieter, is past it: late (amber), not yet silent.
    ahead = 2 * cadenceMs - 15_000 - (Date.now() - before);
    await expect.poll(() => text("#t-mobile").getAttribute("data-state"), { timeout: 8_000 }).toBe("late");
    expect(await text("#t-mobile .complete").textContent()).toBe("3/4 nhà mạng đã báo cáo");
    expect(await text("#t-mobile .badge").textContent()).toBe("Chậm");
    expect(await carrier("vietnamobile").getAttribute("data-state")).toBe("late");
    expect(await carrier("viettel").getAttribute("data-state")).toBe("fresh");
    // Never blanked: the last figures stay, marked.
    expect(await carrier("vietnamobile").locator(".cval").textContent()).toBe("28.167");
    expect(await text('#t-mobile [data-v="value"]').textContent()).toBe("3.128.667");
    expect(await text('#t-complete .feed[data-feed="subscribers"]').getAttribute("data-state")).toBe("late");
    if (shots) await page.screenshot({ path: `${shots}/wall-late.png` });

    // It reports again: fresh, 4/4.
    await reading("vietnamobile", "16732", 28_167);
    await h.settle();
    await expect.poll(() => text("#t-mobile .complete").textContent(), { timeout: 8_000 }).toBe("4/4 nhà mạng đã báo cáo");
    ahead = 0;
  });

  it("recovers by itself when the gateway stops and comes back, with what changed meanwhile", async () => {
    const connects = await page.evaluate(() => (globalThis as unknown as WallWindow).pulseWall.client.connects);
    await live!.close();
    live = null;
    await expect.poll(() => text("#link").getAttribute("data-state"), { timeout: 10_000 }).toBe("lost");
    expect(await text("#banner").isVisible()).toBe(true);
    expect(await text("#banner-text").textContent()).toBe("Mất kết nối — đang kết nối lại");
    if (shots) await page.screenshot({ path: `${shots}/wall-lost.png` });
    // The last figures stay on the screen while the link is down.
    expect(await text('#t-mobile [data-v="value"]').textContent()).toBe("3.128.667");

    // A change committed while no gateway runs.
    await reading("viettel", "16681", 1_001_000);
    await h.settle();
    live = await start(port);
    await expect.poll(() => text("#link").getAttribute("data-state"), { timeout: 20_000 }).toBe("live");
    await expect.poll(() => text('#t-mobile [data-v="value"]').textContent(), { timeout: 10_000 }).toBe("3.129.167");
    expect(await text("#banner").isVisible()).toBe(false);
    const after = await page.evaluate(() => {
      const c = (globalThis as unknown as WallWindow).pulseWall.client;
      return { connects: c.connects, resumes: c.resumes, resets: c.resets };
    });
    expect(after.connects).toBeGreaterThan(connects);
    // The new gateway honoured the page's `since`: a resume, not a fresh snapshot.
    expect(after.resumes).toBeGreaterThanOrEqual(1);
    expect(after.resets).toBe(0);
  });

  it("applies a reset snapshot whole: no figure is ever shown half old, half new", async () => {
    // Every value the total takes on screen, recorded by the page itself.
    // (A string: this file is typed without the DOM library.)
    await page.evaluate(`(() => {
      const el = document.querySelector('#t-mobile [data-v="value"]');
      const seen = (globalThis.seen = []);
      new MutationObserver(() => seen.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    })()`);
    // A `since` this LIVE stream never reached (as from another deployment): the gateway cannot
    // prove the gap complete and answers with a reset snapshot. The socket is cut to make the
    // page reconnect with it.
    await page.evaluate(() => {
      const c = (globalThis as unknown as WallWindow).pulseWall.client as unknown as { seq: number; ws: { close(): void } };
      c.seq = 1_000_000_000;
      c.ws.close();
    });
    await expect
      .poll(() => page.evaluate(() => (globalThis as unknown as WallWindow).pulseWall.client.resets), { timeout: 15_000 })
      .toBe(2); // one per subscription of the page
    await expect.poll(() => text("#link").getAttribute("data-state"), { timeout: 10_000 }).toBe("live");
    // A change after the reset still arrives.
    await reading("mobifone", "16681", 600_001);
    await h.settle();
    await expect.poll(() => text('#t-mobile [data-v="value"]').textContent(), { timeout: 10_000 }).toBe("3.129.168");
    const seen = await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
    expect(
      seen.every((v) => v === "3.129.167" || v === "3.129.168"),
      seen.join(", "),
    ).toBe(true);
  });

  it("switches to English and remembers it; cycles through the table and the former districts; a wrong token is refused visibly", async () => {
    await page.click("#lang");
    await expect.poll(() => page.locator("html").getAttribute("lang")).toBe("en");
    expect(await text("#t-mobile h2").textContent()).toBe("Mobile subscribers");
    expect(await text('#t-mobile [data-v="value"]').textContent()).toBe("3,129,168");
    expect(await text("#t-mobile .complete").textContent()).toBe("4/4 carriers reported");
    // Communes keep their Vietnamese names in English; a former district shows its English name.
    expect(await page.locator('#area option[value="16732"]').textContent()).toBe("Phường Cửa Lò");
    expect(await page.locator('#area option[value="412"]').textContent()).toBe("All of former Vinh City");
    await page.reload();
    await expect.poll(() => text('#t-mobile [data-v="value"]').textContent(), { timeout: 15_000 }).toBe("3,129,168");
    expect(await page.locator("html").getAttribute("lang")).toBe("en");
    await page.click("#lang");
    await expect.poll(() => text("#t-mobile h2").textContent()).toBe("Thuê bao di động");

    // Kiosk style: the screen cycles by itself from the province through the commune table's
    // pages, then each former district (its roll-up): not 130 communes one by one.
    const kiosk = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await kiosk.goto(`http://127.0.0.1:${port}/?token=${token}&kiosk=1&kiosk_s=1`);
    await expect.poll(() => kiosk.locator('#t-mobile [data-v="value"]').textContent(), { timeout: 15_000 }).toBe("3.129.168");
    await expect.poll(() => kiosk.locator("#table-view .ct-page").textContent(), { timeout: 8_000 }).toBe("Trang 1/7");
    await expect.poll(() => kiosk.locator("#table-view .ct-page").textContent(), { timeout: 8_000 }).toBe("Trang 7/7");
    await expect.poll(() => kiosk.locator("#area").inputValue(), { timeout: 8_000 }).toBe("412");
    expect(await kiosk.locator("main.grid").isVisible()).toBe(true);
    expect(await kiosk.locator('#t-mobile [data-v="value"]').textContent()).toBe("3.129.168");
    await expect.poll(() => kiosk.locator("#area").inputValue(), { timeout: 8_000 }).toBe("414");
    await kiosk.close();

    const other = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    await other.goto(`http://127.0.0.1:${port}/?token=wrong&lang=vi`);
    await expect.poll(() => other.locator("#link").getAttribute("data-state"), { timeout: 10_000 }).toBe("denied");
    expect(await other.locator('#t-mobile [data-v="value"]').textContent()).toBe("—");
    await other.close();
  });
});
