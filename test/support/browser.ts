import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { describeNeeding } from './requirements.js';

/** Debian's Chromium (apt-get install chromium): playwright-core drives it and never downloads a browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const missing = existsSync(CHROMIUM_PATH) ? undefined : `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install -y chromium)`;

/** A suite that drives Chromium (launched with launchChromium); see describeNeeding for a machine without it. */
export function describeWithChromium(title: string, suite: () => void): void {
  describeNeeding(title, missing, suite);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}
