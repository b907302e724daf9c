import { chromium, type Browser } from "playwright-core";

/** Debian's chromium (`apt-get install chromium`); CHROMIUM_PATH for another. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Headless Debian chromium for tests, the wall's screenshot and bench plots. Without the
 * networking flags it keeps dialling out (updates, sync, QUIC) on a machine with no internet.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}
