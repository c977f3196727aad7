import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (apt-get install chromium): playwright-core drives it and never downloads a browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const missing = existsSync(CHROMIUM_PATH) ? undefined : `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install -y chromium)`;

/**
 * A suite that drives Chromium. Where it is missing the suite is reported as
 * skipped, with the reason, except with CI=true, where it runs and fails.
 */
export function describeWithChromium(title: string, suite: () => void): void {
  // Skipped only where Chromium is absent and CI is unset: with CI=true the suite runs and launchChromium fails it.
  if (missing && process.env.CI !== 'true') describe.skip(`${title} [skipped: ${missing}]`, suite);
  else describe(title, suite);
}

export async function launchChromium(): Promise<Browser> {
  if (missing) throw new Error(`CI=true but ${missing}: the browser suites cannot run`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}
