import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freshDatabase } from '../support/databases.js';
import { startServer, type TestServer } from '../support/test-server.js';

/** Debian's Chromium (`apt-get install chromium`), driven by playwright-core. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = join(process.cwd(), 'test-output');
const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') {
  throw new Error(`Chromium is required in CI (apt-get install chromium): ${CHROMIUM} not found`);
}
if (!available) console.warn(`skipping the browser test: ${CHROMIUM} not found (apt-get install chromium)`);
const describeInBrowser = available ? describe : describe.skip;

describeInBrowser('the chat page in two browsers', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer(await freshDatabase('sqlite'), { WEB_UI: 'true', DEV_TOKENS: 'true' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(name: string): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.httpUrl);
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#connection[data-state="open"]').waitFor();
    await page.locator('#room-title', { hasText: '# general' }).waitFor();
    await page.locator('#sign-in').waitFor({ state: 'hidden' });
    return page;
  }

  const messages = (page: Page) => page.locator('#messages li:not(.pending) .text');

  it('lets two people chat, shows presence and typing, and keeps the history across a reload', async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');

    await alice.locator('#presence li', { hasText: 'bob' }).waitFor();
    await bob.locator('#presence li', { hasText: 'alice' }).waitFor();

    await alice.getByLabel('Message', { exact: true }).pressSequentially('hello bob');
    await bob.locator('#typing', { hasText: 'alice is typing' }).waitFor();
    await alice.getByRole('button', { name: 'Send' }).click();
    await bob.locator('#messages li', { hasText: 'hello bob' }).waitFor();

    await bob.getByLabel('Message', { exact: true }).fill('hi alice');
    await bob.getByLabel('Message', { exact: true }).press('Enter');
    await alice.locator('#messages li', { hasText: 'hi alice' }).waitFor();
    await expect(messages(alice).allTextContents()).resolves.toEqual(['hello bob', 'hi alice']);

    // A reload signs in again (same session) and shows the room's history.
    await bob.reload();
    await bob.locator('#connection[data-state="open"]').waitFor();
    await bob.locator('#messages li', { hasText: 'hi alice' }).waitFor();
    await expect(messages(bob).allTextContents()).resolves.toEqual(['hello bob', 'hi alice']);

    // A room of one's own choosing, then back.
    await alice.getByLabel('Join a room').fill('side-room');
    await alice.getByRole('button', { name: 'Join', exact: true }).click();
    await alice.locator('#room-title', { hasText: '# side-room' }).waitFor();
    await alice.getByRole('button', { name: '# general' }).click();
    await alice.locator('#messages li', { hasText: 'hello bob' }).waitFor();

    mkdirSync(OUTPUT, { recursive: true });
    await alice.screenshot({ path: join(OUTPUT, 'chat.png'), fullPage: true });
    expect(existsSync(join(OUTPUT, 'chat.png'))).toBe(true);
  }, 60_000);

  it('says how to enable sign-in when DEV_TOKENS is off', async () => {
    const plain = await startServer(await freshDatabase('sqlite'), { WEB_UI: 'true' });
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(plain.httpUrl);
      await page.getByLabel('Your name').fill('carol');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'DEV_TOKENS=true' }).waitFor();
    } finally {
      await plain.close();
    }
  }, 30_000);
});
