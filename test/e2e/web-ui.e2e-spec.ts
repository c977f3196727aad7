import { connect } from '../../client/index.js';
import { createServer } from '../../src/server.js';
import { freshDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { suiteServer } from '../support/suite-server.js';
import { TEST_SECRET } from '../support/tokens.js';

const get = (baseUrl: string, path: string) => fetch(`${baseUrl}${path}`);

/** The claims of a token, unverified. */
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));

// Static files and a token route: no database behaviour to compare, so SQLite only.
describe('the chat page and development tokens, switched on [sqlite]', () => {
  const suite = suiteServer('sqlite', { WEB_UI: 'true', DEV_TOKENS: 'true' });

  it('serves the page at / with a policy that allows only its own scripts and connections', async () => {
    const response = await get(suite.server.httpUrl, '/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'self'.*connect-src 'self'/);
    expect(await response.text()).toContain('<script type="module" src="app.js"></script>');
    const script = await get(suite.server.httpUrl, '/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(await script.text()).toContain("from '../client/index.js'");
  });

  it('serves the compiled client SDK under /client/, where the page imports it', async () => {
    const response = await get(suite.server.httpUrl, '/client/index.js');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(await response.text()).toContain("from './switchboard-client.js'");
  });

  it('tells the page where the WebSocket is and that development tokens are on', async () => {
    expect(await http(suite.server.httpUrl, 'GET', '/web-ui/settings')).toEqual({ status: 200, body: { wsPath: '/ws', devTokens: true } });
  });

  it('leaves the API and its errors as they were: routes win over files, unknown paths answer 404 in JSON', async () => {
    expect((await get(suite.server.httpUrl, '/health/live')).status).toBe(200);
    const missing = await http(suite.server.httpUrl, 'GET', '/no-such-page.html');
    expect(missing).toEqual({ status: 404, body: expect.objectContaining({ statusCode: 404, code: 'NOT_FOUND' }) });
    expect((await http(suite.server.httpUrl, 'GET', '/client/no-such-module.js')).status).toBe(404);
  });

  it('mints a 15-minute token for a name, which the server accepts', async () => {
    const before = Math.floor(Date.now() / 1000);
    const { status, body } = await http(suite.server.httpUrl, 'POST', '/dev/token', { body: { name: 'Zoë B-2' } });
    expect(status).toBe(201);
    expect(body).toEqual({ token: expect.any(String), exp: claimsOf(body.token).exp });
    expect(claimsOf(body.token)).toMatchObject({ sub: 'Zoë B-2', name: 'Zoë B-2' });
    expect(body.exp - before).toBeGreaterThanOrEqual(15 * 60);
    expect(body.exp - before).toBeLessThanOrEqual(15 * 60 + 2);

    const client = await connect({ url: suite.server.wsUrl, token: body.token });
    try {
      await client.join('dev-room');
      expect(await client.presence('dev-room')).toEqual({ room: 'dev-room', users: [{ id: 'Zoë B-2', name: 'Zoë B-2' }] });
    } finally {
      await client.close();
    }
  });

  it.each([
    ['an empty name', { name: '' }, 'matches'],
    ['a name of 65 characters', { name: 'a'.repeat(65) }, 'matches'],
    ['a name with a control character', { name: 'bob\u0000' }, 'matches'],
    ['a name that starts with a space', { name: ' bob' }, 'matches'],
    ['a number', { name: 42 }, 'matches'],
    ['no name', {}, 'matches'],
    ['the system sender', { name: 'system' }, 'notEquals'],
  ])('refuses %s with BAD_REQUEST naming the field', async (_case, body, constraint) => {
    const { status, body: error } = await http(suite.server.httpUrl, 'POST', '/dev/token', { body });
    expect(status).toBe(400);
    expect(error).toMatchObject({ code: 'BAD_REQUEST', details: expect.arrayContaining([expect.objectContaining({ field: 'name', constraint })]) });
  });

  it('signs no one in as a bootstrap admin, and takes JSON only', async () => {
    // The test servers' BOOTSTRAP_ADMINS is root: whoever reached the page would be an admin.
    const { status, body } = await http(suite.server.httpUrl, 'POST', '/dev/token', { body: { name: 'root' } });
    expect([status, body.code, body.message]).toEqual([403, 'FORBIDDEN', expect.stringMatching(/^root is a bootstrap admin/)]);
    const form = await fetch(`${suite.server.httpUrl}/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'name=mallory',
    });
    expect(form.status).toBe(400);
  });
});

describe('the chat page and development tokens, switched off [sqlite]', () => {
  describe('by default outside development', () => {
    const suite = suiteServer('sqlite');

    it('has neither the page nor the token route', async () => {
      for (const path of ['/', '/app.js', '/client/index.js', '/web-ui/settings']) {
        expect({ path, status: (await get(suite.server.httpUrl, path)).status }).toEqual({ path, status: 404 });
      }
      expect((await http(suite.server.httpUrl, 'POST', '/dev/token', { body: { name: 'alice' } })).status).toBe(404);
    });
  });

  describe('the page without development tokens', () => {
    const suite = suiteServer('sqlite', { WEB_UI: 'true' });

    it('serves the page, tells it that sign-in by name is off, and has no token route', async () => {
      expect((await get(suite.server.httpUrl, '/')).status).toBe(200);
      expect((await http(suite.server.httpUrl, 'GET', '/web-ui/settings')).body).toEqual({ wsPath: '/ws', devTokens: false });
      expect((await http(suite.server.httpUrl, 'POST', '/dev/token', { body: { name: 'alice' } })).status).toBe(404);
    });
  });
});

describe('development tokens where they are refused', () => {
  it.each([
    ['NODE_ENV=production', { NODE_ENV: 'production', JWT_SECRET: TEST_SECRET }, /DEV_TOKENS: refused when NODE_ENV=production/],
    [
      'a server that verifies with JWT_PUBLIC_KEY',
      { JWT_SECRET: '', JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----' },
      /DEV_TOKENS: the server verifies tokens with JWT_PUBLIC_KEY and cannot sign any/,
    ],
  ])('stops the start with a configuration error under %s', async (_case, variables, message) => {
    const database = await freshDatabase('sqlite');
    await expect(createServer({ ...database.variables, DEV_TOKENS: 'true', ...variables })).rejects.toThrow(message);
  });
});
