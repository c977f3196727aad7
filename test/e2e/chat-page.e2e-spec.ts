import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { connect } from '../../client/index.js';
import { describeWithChromium, launchChromium } from '../support/browser.js';
import { freshDatabase, type TestDatabase } from '../support/databases.js';
import { startServer, type TestServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';

const PAGE_SETTINGS = { WEB_UI: 'true', DEV_TOKENS: 'true' };
/** Where `npm test` leaves the screenshot (git-ignored). */
const SCREENSHOT = 'test-output/chat.png';

/**
 * The chat page (web/, served by the server with the compiled client SDK)
 * in headless Chromium, against a real server: two people chatting, with
 * presence, typing, history after a reload, paging back through older
 * messages, and the connection state and pending sends through a restart.
 */
describeWithChromium('the chat page in Chromium', () => {
  let database: TestDatabase;
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    database = await freshDatabase('sqlite');
    server = await startServer(database, PAGE_SETTINGS);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    // Script errors on the page (a failed module import, a CSP refusal) fail the test that caused them.
    expect(pageErrors.splice(0)).toEqual([]);
  });

  /** A browser of its own (storage, cookies) for one person, at the page of `url`. */
  async function openPage(name: string, url = server.httpUrl): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
    page.on('console', (message) => {
      // Failed connections are expected while the server restarts; the page shows them itself.
      if (message.type() === 'error' && !/^(Failed to load resource|WebSocket connection to)/.test(message.text())) {
        pageErrors.push(`${name}: ${message.text()}`);
      }
    });
    await page.goto(url);
    return page;
  }

  async function signIn(name: string): Promise<Page> {
    const page = await openPage(name);
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await connection(page, /^Connected$/);
    return page;
  }

  const connection = (page: Page, text: RegExp) => page.getByRole('status').filter({ hasText: text }).waitFor();
  const messageLog = (page: Page, room: string) => page.getByRole('log', { name: `Messages in ${room}` });
  const texts = (page: Page, room: string) => messageLog(page, room).locator('.text').allTextContents();
  const present = (page: Page) => page.getByRole('complementary', { name: 'In this room' }).getByRole('listitem').allTextContents();
  const typingLine = (page: Page) => page.locator('#typing');

  async function joinRoom(page: Page, room: string): Promise<void> {
    await page.getByLabel('Join a room', { exact: true }).fill(room);
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    await page.getByRole('heading', { name: room, exact: true }).waitFor();
    // Joined and its history loaded: the log says where the room begins.
    await messageLog(page, room).getByText(`This is the beginning of ${room}.`).waitFor();
  }

  async function send(page: Page, text: string): Promise<void> {
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByLabel('Message', { exact: true }).press('Enter');
  }

  /** The message's own item once stored: no longer pending, with the time it was stored. */
  const stored = (page: Page, room: string, text: string) =>
    messageLog(page, room).locator('li.message:not(.pending):not(.failed)', { hasText: text }).locator('time:not(:empty)').waitFor();

  it('lets two people chat both ways, with presence and typing, and shows the history again after a reload', async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');
    await joinRoom(alice, 'team');
    await joinRoom(bob, 'team');

    await alice.getByRole('complementary', { name: 'In this room' }).getByText('bob', { exact: true }).waitFor();
    expect(await present(alice)).toEqual(['alice (you)', 'bob']);
    expect(await present(bob)).toEqual(['bob (you)', 'alice']);

    await send(alice, 'hello bob');
    await messageLog(bob, 'team').getByText('hello bob').waitFor();
    await stored(alice, 'team', 'hello bob');

    // Typing, key by key as a person types, shows on the other page; the message itself clears it.
    await bob.getByLabel('Message', { exact: true }).pressSequentially('hi alice', { delay: 15 });
    await alice.getByText('bob is typing…').waitFor();
    await bob.getByLabel('Message', { exact: true }).press('Enter');
    await messageLog(alice, 'team').getByText('hi alice').waitFor();
    await typingLine(alice).filter({ hasText: /^$/ }).waitFor();
    expect(await texts(alice, 'team')).toEqual(['hello bob', 'hi alice']);
    expect(await texts(bob, 'team')).toEqual(['hello bob', 'hi alice']);

    // A reload signs bob in again, into the room he was in, with its history.
    await bob.reload();
    await connection(bob, /^Connected$/);
    await messageLog(bob, 'team').getByText('hi alice').waitFor();
    expect(await texts(bob, 'team')).toEqual(['hello bob', 'hi alice']);
    expect(await bob.locator('#account-name').textContent()).toBe('bob');
    await bob.getByRole('complementary', { name: 'In this room' }).getByText('alice', { exact: true }).waitFor();

    await send(bob, 'back again');
    await messageLog(alice, 'team').getByText('back again').waitFor();
    expect(await texts(alice, 'team')).toEqual(['hello bob', 'hi alice', 'back again']);
    mkdirSync('test-output', { recursive: true });
    await alice.screenshot({ path: SCREENSHOT });
  });

  it('loads older messages when the reader scrolls up, until the beginning of the room', async () => {
    const carol = await connect({ url: server.wsUrl, token: token('carol') });
    try {
      await Promise.all(Array.from({ length: 45 }, (_, i) => carol.send('archive', `old ${i + 1}`, { clientMsgId: `old-${i + 1}` })));
    } finally {
      await carol.close();
    }
    const dave = await signIn('dave');
    await dave.getByLabel('Join a room', { exact: true }).fill('archive');
    await dave.getByRole('button', { name: 'Join', exact: true }).click();
    await messageLog(dave, 'archive').getByText('old 45', { exact: true }).waitFor();
    // The newest page (30 messages) first.
    expect(await texts(dave, 'archive')).toEqual(Array.from({ length: 30 }, (_, i) => `old ${i + 16}`));
    expect(await messageLog(dave, 'archive').getByRole('button', { name: 'Load older messages' }).isVisible()).toBe(true);

    await messageLog(dave, 'archive').evaluate((pane) => pane.scrollTo({ top: 0 }));
    await messageLog(dave, 'archive').getByText('This is the beginning of archive.').waitFor();
    expect(await texts(dave, 'archive')).toEqual(Array.from({ length: 45 }, (_, i) => `old ${i + 1}`));
  });

  it('says when the server has no development tokens, and signs in with an access token instead', async () => {
    const withoutDevTokens = await startServer(await freshDatabase('sqlite'), { WEB_UI: 'true' });
    try {
      const page = await openPage('ivy', withoutDevTokens.httpUrl);
      await page.getByText('This server does not hand out development tokens').waitFor();
      expect(await page.getByLabel('Your name').isVisible()).toBe(false);
      await page.getByLabel('Access token').fill(token('ivy', { name: 'Ivy' }));
      await page.getByRole('button', { name: 'Sign in with this token' }).click();
      await connection(page, /^Connected$/);
      expect(await page.locator('#account-name').textContent()).toBe('Ivy');
      await page.getByRole('complementary', { name: 'In this room' }).getByText('Ivy (you)').waitFor();
    } finally {
      await withoutDevTokens.close();
    }
  });

  it('shows the connection state through a server restart, and a message sent meanwhile as pending until stored', async () => {
    const erin = await signIn('erin');
    const frank = await signIn('frank');
    await joinRoom(erin, 'ops');
    await joinRoom(frank, 'ops');

    const port = Number(new URL(server.httpUrl).port);
    await server.close();
    await connection(erin, /^Reconnecting \(/);
    await connection(frank, /^Reconnecting \(/);

    await send(erin, 'sent while away');
    const pending = messageLog(erin, 'ops').locator('li.message.pending', { hasText: 'sent while away' });
    await pending.getByText('sending…').waitFor();

    server = await startServer(database, PAGE_SETTINGS, port);
    await connection(erin, /^Connected again$/);
    await connection(frank, /^Connected again$/);
    await stored(erin, 'ops', 'sent while away');
    await messageLog(frank, 'ops').getByText('sent while away').waitFor();
    expect(await texts(frank, 'ops')).toEqual(['sent while away']);
    expect(await texts(erin, 'ops')).toEqual(['sent while away']);
  }, 60_000);
});
