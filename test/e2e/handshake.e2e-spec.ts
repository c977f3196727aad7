import { generateKeyPairSync } from 'node:crypto';
import { describeEachDatabase, freshDatabase, type TestDatabase } from '../support/databases.js';
import { rejectedUpgrade, TestClient } from '../support/test-client.js';
import { startServer, type TestServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';

describeEachDatabase('handshake and token lifecycle', (kind) => {
  let database: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    database = await freshDatabase(kind);
    server = await startServer(database);
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['no token', undefined, /access token is required/],
    ['a malformed token', 'not-a-jwt', /invalid/],
    ['a bad signature', token('alice', { secret: 'another-secret-that-is-long-enough-0123456789' }), /invalid signature/],
    ['an expired token', token('alice', { expiresIn: -5 }), /expired/],
    ['a wrong issuer', token('alice', { issuer: 'https://evil.example' }), /issuer/],
    ['a wrong audience', token('alice', { audience: 'someone-else' }), /audience/],
    ['no sub', token(undefined), /sub/],
    ['a non-string tid', token('alice', { claims: { tid: 42 } }), /tid/],
    ['the reserved system id', token('system'), /reserved/],
    // Stored as U+FFFD, a lone surrogate would make another user the author of these messages.
    ['a sub with a lone surrogate', token('al\uD800ice'), /user id must be well-formed Unicode/],
    ['a name with a lone surrogate', token('alice', { name: 'Al\uDC00' }), /name must be well-formed Unicode/],
    ['a sub with a C1 control character', token('al\u009Bice'), /without control characters/],
  ])('refuses an upgrade with %s with HTTP 401', async (_case, candidate, reason) => {
    const { status, body } = await rejectedUpgrade(server.wsUrl, { token: candidate });
    expect(status).toBe(401);
    expect(body).toMatch(reason);
    expect(body).not.toContain(candidate ?? '(none)');
  });

  it('says so when the Authorization header lacks its Bearer scheme', async () => {
    const valid = token('alice');
    const { status, body } = await rejectedUpgrade(server.wsUrl, { headers: { Authorization: valid } });
    expect(status).toBe(401);
    expect(body).toMatch('the Authorization header must be "Bearer <token>"');
    expect(body).not.toContain(valid);
  });

  it('refuses a token without exp', async () => {
    const { JwtService } = await import('@nestjs/jwt');
    const { TEST_SECRET, TEST_ISSUER, TEST_AUDIENCE } = await import('../support/tokens.js');
    const noExp = new JwtService().sign({ sub: 'alice', iss: TEST_ISSUER, aud: TEST_AUDIENCE }, { secret: TEST_SECRET });
    expect((await rejectedUpgrade(server.wsUrl, { token: noExp })).status).toBe(401);
  });

  it('refuses a token whose exp is not a finite number (1e400 reads as Infinity), and on auth.refresh too', async () => {
    const { createHmac } = await import('node:crypto');
    const { TEST_SECRET, TEST_ISSUER, TEST_AUDIENCE } = await import('../support/tokens.js');
    // Built by hand: JSON.stringify cannot write a number JSON.parse reads as Infinity.
    const encode = (json: string) => Buffer.from(json).toString('base64url');
    const unsigned = `${encode('{"alg":"HS256","typ":"JWT"}')}.${encode(`{"sub":"alice","iss":"${TEST_ISSUER}","aud":"${TEST_AUDIENCE}","exp":1e400}`)}`;
    const forever = `${unsigned}.${createHmac('sha256', TEST_SECRET).update(unsigned).digest('base64url')}`;
    const refused = await rejectedUpgrade(server.wsUrl, { token: forever });
    expect([refused.status, refused.body]).toEqual([401, expect.stringMatching(/exp/)]);
    const alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    expect((await alice.error('auth.refresh', { token: forever })).code).toBe('UNAUTHORIZED');
    await alice.close();
  });

  it('refuses an access_token given twice in the query, even twice the same valid token, and beside a valid header', async () => {
    const valid = token('alice');
    const twice = `${server.wsUrl}?access_token=${valid}&access_token=${valid}`;
    for (const refused of [await rejectedUpgrade(twice), await rejectedUpgrade(twice, { token: valid })]) {
      expect(refused.status).toBe(401);
      expect(refused.body).toMatch(/access_token query parameter is given more than once/);
      expect(refused.body).not.toContain(valid);
    }
  });

  it('accepts the token in the Authorization header or the access_token query parameter', async () => {
    const viaHeader = await TestClient.connect(server.wsUrl, { token: token('alice') });
    const viaQuery = await TestClient.connect(server.wsUrl, { token: token('alice'), via: 'query' });
    expect((await viaHeader.request('ping')).event).toBe('pong');
    expect((await viaQuery.request('ping')).event).toBe('pong');
    await Promise.all([viaHeader.close(), viaQuery.close()]);
  });

  it('refuses an upgrade on another path', async () => {
    await expect(TestClient.connect(server.wsUrl.replace('/ws', '/other'), { token: token('alice') })).rejects.toThrow();
  });

  it('closes the socket with 4001 when the token expires, unless auth.refresh extended it', async () => {
    const shortLived = await TestClient.connect(server.wsUrl, { token: token('alice', { expiresIn: 1 }) });
    const refreshed = await TestClient.connect(server.wsUrl, { token: token('alice', { expiresIn: 1 }) });
    const later = token('alice', { expiresIn: 60 });
    const { exp } = await refreshed.ok('auth.refresh', { token: later });
    expect(exp).toBeGreaterThan(Math.floor(Date.now() / 1000) + 50);
    const closed = await shortLived.closed;
    expect(closed).toEqual({ code: 4001, reason: 'token expired' });
    expect((await refreshed.request('ping')).event).toBe('pong');
    await refreshed.close();
  });

  it('ends the socket at the exp of the token auth.refresh gave it, earlier than the old one too, and refuses an expired token', async () => {
    const client = await TestClient.connect(server.wsUrl, { token: token('alice', { expiresIn: 3600 }) });
    const expired = await client.error('auth.refresh', { token: token('alice', { expiresIn: -10 }) });
    expect(expired).toMatchObject({ code: 'UNAUTHORIZED', message: 'the token has expired', event: 'auth.refresh' });
    const { exp } = await client.ok('auth.refresh', { token: token('alice', { expiresIn: 1 }) });
    expect(exp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
    expect(await client.closed).toEqual({ code: 4001, reason: 'token expired' });
  });

  describe('with WS_AUTH_COOKIE and no origin list', () => {
    let cookies: TestServer;
    beforeAll(async () => {
      cookies = await startServer(database, { WS_AUTH_COOKIE: 'session' });
    });
    afterAll(async () => {
      await cookies.close();
    });

    it("refuses the cookie of another site's page (cross-site WebSocket hijacking), and takes it from this site's or a non-browser", async () => {
      const site = new URL(cookies.httpUrl).origin;
      const viaCookie = (headers: Record<string, string>) => ({ token: token('alice'), via: { cookie: 'session' } as const, headers });
      for (const headers of [{ Origin: 'https://evil.example' }, { Origin: 'null' }, { 'Sec-Fetch-Site': 'cross-site' }] as Array<Record<string, string>>) {
        const refused = await rejectedUpgrade(cookies.wsUrl, viaCookie(headers));
        expect([refused.status, refused.body]).toEqual([403, expect.stringMatching(/session cookie signs in pages of this site only/)]);
      }
      for (const headers of [{ Origin: site }, {}, { 'Sec-Fetch-Site': 'same-origin' }] as Array<Record<string, string>>) {
        const client = await TestClient.connect(cookies.wsUrl, viaCookie(headers));
        expect((await client.request('ping')).event).toBe('pong');
        await client.close();
      }
      // A token the page put in the URL itself is no ambient credential.
      const viaQuery = await TestClient.connect(cookies.wsUrl, { token: token('alice'), via: 'query', headers: { Origin: 'https://other.example' } });
      expect((await viaQuery.request('ping')).event).toBe('pong');
      await viaQuery.close();
    });
  });

  describe('with WS_AUTH_COOKIE and WS_ALLOWED_ORIGINS', () => {
    let strict: TestServer;
    beforeAll(async () => {
      strict = await startServer(database, { WS_AUTH_COOKIE: 'session', WS_ALLOWED_ORIGINS: 'https://app.example, https://admin.example' });
    });
    afterAll(async () => {
      await strict.close();
    });

    it('takes the token from the cookie', async () => {
      const client = await TestClient.connect(strict.wsUrl, {
        token: token('alice'),
        via: { cookie: 'session' },
        headers: { Origin: 'https://app.example' },
      });
      expect((await client.request('ping')).event).toBe('pong');
      await client.close();
    });

    it('refuses other origins with 403, before looking at the token', async () => {
      expect((await rejectedUpgrade(strict.wsUrl, { token: token('alice'), headers: { Origin: 'https://evil.example' } })).status).toBe(403);
      expect((await rejectedUpgrade(strict.wsUrl, { token: token('alice'), headers: { Origin: 'null' } })).status).toBe(403);
      expect((await rejectedUpgrade(strict.wsUrl, { headers: { Origin: 'https://admin.example' } })).status).toBe(401);
    });

    it('lets a client that sends no Origin (not a browser) through to the token check', async () => {
      const service = await TestClient.connect(strict.wsUrl, { token: token('backend-service') });
      expect((await service.request('ping')).event).toBe('pong');
      await service.close();
      expect((await rejectedUpgrade(strict.wsUrl, {})).status).toBe(401);
    });
  });

  describe.each([
    ['an RSA key (RS256 by default)', 'rsa', undefined, 'RS256'],
    ['an RSA key, JWT_ALGORITHM=RS512', 'rsa', 'RS512', 'RS512'],
    ['a P-256 key (ES256 by default)', 'ec', undefined, 'ES256'],
  ] as const)('with JWT_PUBLIC_KEY: %s', (_case, type, pinned, algorithm) => {
    const pair = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const publicKey = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    let keyed: TestServer;
    beforeAll(async () => {
      keyed = await startServer(database, { JWT_SECRET: '', JWT_PUBLIC_KEY: publicKey.replace(/\n/g, '\\n'), ...(pinned ? { JWT_ALGORITHM: pinned } : {}) });
    });
    afterAll(async () => {
      await keyed.close();
    });

    it(`accepts a ${algorithm} token signed with the private key`, async () => {
      const client = await TestClient.connect(keyed.wsUrl, { token: token('alice', { privateKey, algorithm }) });
      expect((await client.request('ping')).event).toBe('pong');
      await client.close();
    });

    it('refuses another key, another algorithm, and an HS256 token signed with the public key as its secret', async () => {
      const other = (type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })).privateKey;
      const otherPem = other.export({ type: 'pkcs8', format: 'pem' }).toString();
      const refused = [
        token('alice', { privateKey: otherPem, algorithm }),
        token('alice', { secret: publicKey, algorithm: 'HS256' }),
        ...(type === 'rsa' ? [token('alice', { privateKey, algorithm: algorithm === 'RS256' ? 'RS512' : 'RS256' })] : []),
      ];
      for (const candidate of refused) {
        const { status, body } = await rejectedUpgrade(keyed.wsUrl, { token: candidate });
        expect([status, body]).toEqual([401, expect.stringMatching(/invalid (signature|algorithm)/)]);
      }
    });
  });

  describe('with WS_FIRST_FRAME_AUTH', () => {
    let firstFrame: TestServer;
    beforeAll(async () => {
      firstFrame = await startServer(database, { WS_FIRST_FRAME_AUTH: 'true', WS_AUTH_TIMEOUT_MS: '400' });
    });
    afterAll(async () => {
      await firstFrame.close();
    });

    it('accepts the upgrade without a token, answers UNAUTHORIZED until auth, then works', async () => {
      const client = await TestClient.connect(firstFrame.wsUrl);
      expect((await client.error('ping')).code).toBe('UNAUTHORIZED');
      expect((await client.error('room.join', { room: 'general' })).code).toBe('UNAUTHORIZED');
      const auth = await client.ok('auth', { token: token('alice', { name: 'Alice' }) });
      expect(auth).toEqual({ user: { id: 'alice', name: 'Alice' }, exp: expect.any(Number) });
      expect((await client.ok('room.join', { room: 'general' })).room).toBe('general');
      await client.settle(600);
      expect((await client.request('ping')).event).toBe('pong');
      await client.close();
    });

    it('binds the socket to one user when two auth frames come at once', async () => {
      const client = await TestClient.connect(firstFrame.wsUrl);
      const answers = await Promise.all([
        client.request('auth', { token: token('alice', { name: 'Alice' }) }),
        client.request('auth', { token: token('bob', { name: 'Bob' }) }),
      ]);
      const winner = answers.find((frame) => frame.event === 'auth');
      const loser = answers.find((frame) => frame.event === 'error');
      expect(loser?.data).toMatchObject({ code: 'BAD_REQUEST', event: 'auth', message: expect.stringContaining('already authenticated') });
      const sent = await client.ok('message.send', { room: 'general', text: 'who am I', clientMsgId: 'w1' });
      const history = await client.ok('history.fetch', { room: 'general', after: sent.seq - 1 });
      expect(history.messages[0].sender).toEqual(winner?.data.user);
      await client.close();
    });

    it('still checks a token given at the upgrade', async () => {
      expect((await rejectedUpgrade(firstFrame.wsUrl, { token: 'bad' })).status).toBe(401);
    });

    it('closes with 4001 on a bad auth frame', async () => {
      const client = await TestClient.connect(firstFrame.wsUrl);
      expect((await client.error('auth', { token: token('alice', { expiresIn: -1 }) })).code).toBe('UNAUTHORIZED');
      expect((await client.closed).code).toBe(4001);
    });

    it('closes with 4001 when no auth frame comes in time', async () => {
      const client = await TestClient.connect(firstFrame.wsUrl);
      expect(await client.closed).toEqual({ code: 4001, reason: 'no valid auth frame in time' });
    });
  });
});
