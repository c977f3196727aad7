import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { describeNeeding } from './requirements.js';

/** Debian's Chromium (apt-get install chromium): playwright-core drives it and never downloads a browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const missing = existsSync(CHROMIUM_PATH) ? undefined : `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install -y chromium)`;

/** A suite that drives Chromium (with CI=true and no Chromium, launchChromium fails it). */
export function describeWithChromium(title: string, suite: () => void): void {
  describeNeeding(title, missing, suite);
}

export async function launchChromium(): Promise<Browser> {
  if (missing) throw new Error(`CI=true but ${missing}: the browser suites cannot run`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}
