/** Debian's Chromium driven by playwright-core, for tests, screenshots and benchmarks of the web interface. */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.DOCTOR_CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A headless Chromium; playwright gives it a fresh temporary profile (user-data-dir). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}
