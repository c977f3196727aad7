import { SwitchboardError, type SwitchboardClient } from '../../client/index.js';
import { freshDatabase, type TestDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { nextEvent, record, sdkClients, deafen, tappedWebSocket } from '../support/sdk-clients.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startServer, type TestServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));
const FAST_RECONNECT = { initialDelayMs: 50, maxDelayMs: 500 };

/** The client SDK against the real server: behaviour does not depend on the database, so SQLite only. */
describe('the client SDK', () => {
  let database: TestDatabase;
  let server: TestServer;
  const clients = sdkClients(() => ({ url: server.wsUrl, reconnect: FAST_RECONNECT }));
  const as = (user: string, options: Parameters<typeof clients.connect>[0] = {}) => clients.connect({ token: token(user), ...options });

  beforeAll(async () => {
    database = await freshDatabase('sqlite');
    server = await startServer(database);
  });
  afterAll(async () => {
    await server.close();
  });

  describe('authentication', () => {
    it('sends the token in the Authorization header by default in Node, or in the access_token query parameter', async () => {
      const tap = tappedWebSocket();
      const viaHeader = await as('alice', { WebSocket: tap.WebSocket });
      const viaQuery = await as('alice', { WebSocket: tap.WebSocket, auth: 'query' });
      expect([viaHeader.state, viaQuery.state]).toEqual(['open', 'open']);
      expect((await viaHeader.ping()).time).toEqual(expect.any(Number));
      expect((await viaQuery.ping()).time).toEqual(expect.any(Number));

      const [header, query] = tap.sockets;
      expect(header.headers?.Authorization).toMatch(/^Bearer ey/);
      expect(header.url).toBe(server.wsUrl);
      expect(query.headers).toBeUndefined();
      expect(new URL(query.url).searchParams.get('access_token')).toMatch(/^ey/);
    });

    it('takes its tokens from getToken, loading ws by itself', async () => {
      let calls = 0;
      const client = await clients.connect({ getToken: async () => (calls++, token('alice')) });
      expect(calls).toBe(1);
      expect((await client.join('auth-room')).room).toBe('auth-room');
    });

    it('refuses a token the server refuses, and does not retry when it cannot get another', async () => {
      const client = clients.create({ token: token('alice', { secret: 'another-secret-that-is-long-enough-0123456789' }) });
      const recording = record(client);
      const error = (await client.connect().catch((e: unknown) => e)) as SwitchboardError;
      expect(error).toBeInstanceOf(SwitchboardError);
      expect(error.code).toBe('CLOSED');
      // The server's own reason, read from the refusal's body (Node).
      expect(error.message).toMatch(/HTTP 401 \(.*invalid signature.*\)/);
      expect(recording.states.map((s) => s.state)).toEqual(['connecting', 'closed']);
      await expect(client.ping()).rejects.toMatchObject({ code: 'CLOSED' });
    });

    it('tells the app with an error event each time a token from getToken is refused, while it tries again', async () => {
      let calls = 0;
      const refused = () => (calls++, token('alice', { secret: 'another-secret-that-is-long-enough-0123456789' }));
      const client = clients.create({ getToken: refused, reconnect: { ...FAST_RECONNECT, maxAttempts: 2 } });
      const recording = record(client);
      const error = (await client.connect().catch((e: unknown) => e)) as SwitchboardError;
      expect(error).toMatchObject({ code: 'CLOSED', message: expect.stringMatching(/HTTP 401.*gave up after 2 attempts/) });
      expect(calls).toBe(3);
      // The last refusal closes the client instead of being retried: its reason says it all.
      expect(recording.errors).toEqual([
        expect.objectContaining({ code: 'UNAUTHORIZED', message: expect.stringMatching(/HTTP 401 \(.*invalid signature.*\): the server refused the token/) }),
        expect.objectContaining({ code: 'UNAUTHORIZED', message: expect.stringMatching(/HTTP 401 \(.*invalid signature.*\): the server refused the token/) }),
      ]);
    });

    it('will not start on an expired token without getToken', async () => {
      const client = clients.create({ token: token('alice', { expiresIn: -5 }) });
      await expect(client.connect()).rejects.toThrow(/expired/);
      expect(client.state).toBe('closed');
    });
  });

  describe('requests and pushes', () => {
    it('sends and receives between two clients, with acks, once per message, de-duplicating resends', async () => {
      const alice = await as('alice', { getToken: () => token('alice', { name: 'Alice' }) });
      const bob = await as('bob');
      const bobs = record(bob);
      expect(await alice.join('chat')).toEqual({ room: 'chat', lastSeq: 0 });
      await bob.join('chat');

      const ack = await alice.send('chat', 'hello bob');
      expect(ack).toEqual({ room: 'chat', seq: 1, messageId: expect.any(String), sentAt: expect.any(String), duplicate: false });
      const withPayload = await alice.send('chat', { text: 'a quote', payload: { symbol: 'ACME', price: 12.5 } }, { clientMsgId: 'quote-1' });
      const resent = await alice.send('chat', { text: 'a quote', payload: { symbol: 'ACME', price: 12.5 } }, { clientMsgId: 'quote-1' });
      expect(resent).toEqual({ ...withPayload, duplicate: true });
      await bob.send('chat', 'hi alice');

      await waitUntil(() => bobs.messages.length === 3);
      await settle();
      expect(bobs.messages).toEqual([
        expect.objectContaining({ room: 'chat', seq: 1, text: 'hello bob', sender: { id: 'alice', name: 'Alice' }, messageId: ack.messageId }),
        expect.objectContaining({ seq: 2, clientMsgId: 'quote-1', payload: { symbol: 'ACME', price: 12.5 } }),
        expect.objectContaining({ seq: 3, text: 'hi alice', sender: { id: 'bob', name: 'bob' } }),
      ]);
    });

    it('pages history, lists presence, and passes presence, typing, edit and delete pushes on', async () => {
      const alice = await as('alice');
      const bob = await as('bob');
      await alice.join('lobby');
      await bob.join('lobby');
      for (const text of ['one', 'two', 'three']) await alice.send('lobby', text);

      const newest = await bob.history('lobby', { limit: 2 });
      expect(newest.messages.map((m) => m.seq)).toEqual([2, 3]);
      expect(newest.hasMore).toBe(true);
      expect((await bob.history('lobby', { before: 2 })).messages).toEqual([expect.objectContaining({ seq: 1, text: 'one' })]);
      expect((await bob.presence('lobby')).users.map((u) => u.id).sort()).toEqual(['alice', 'bob']);

      const joined = nextEvent(alice, 'presence.join', (p) => p.user.id === 'carol');
      const carol = await as('carol');
      await carol.join('lobby');
      expect(await joined).toEqual({ room: 'lobby', user: { id: 'carol', name: 'carol' } });
      const left = nextEvent(alice, 'presence.leave', (p) => p.user.id === 'carol');
      await carol.leave('lobby');
      expect(await left).toEqual({ room: 'lobby', user: { id: 'carol', name: 'carol' } });

      const typing = nextEvent(bob, 'typing');
      expect(await alice.typing('lobby')).toEqual({ room: 'lobby' });
      expect(await typing).toEqual({ room: 'lobby', user: { id: 'alice', name: 'alice' } });

      const updated = nextEvent(bob, 'message.updated');
      expect(await alice.edit('lobby', 2, 'two, edited')).toEqual({ room: 'lobby', seq: 2, editedAt: expect.any(String) });
      expect(await updated).toEqual({ room: 'lobby', seq: 2, text: 'two, edited', editedAt: expect.any(String) });
      const deleted = nextEvent(bob, 'message.deleted');
      expect(await alice.delete('lobby', 3)).toEqual({ room: 'lobby', seq: 3 });
      expect(await deleted).toEqual({ room: 'lobby', seq: 3 });
      expect((await bob.history('lobby')).messages).toEqual([
        expect.objectContaining({ seq: 1, text: 'one' }),
        expect.objectContaining({ seq: 2, text: 'two, edited', editedAt: expect.any(String) }),
        { room: 'lobby', seq: 3, deleted: true },
      ]);
    });

    it('replays from an explicit since, a deleted message as message.deleted, and nothing more after leaving', async () => {
      const alice = await as('alice');
      for (const text of ['a', 'b', 'c', 'd']) await alice.send('replay', text);
      await alice.delete('replay', 3);
      const bob = await as('bob');
      const bobs = record(bob);
      const deletions: unknown[] = [];
      bob.on('message.deleted', (deletion) => deletions.push(deletion));
      expect(await bob.join('replay', { since: 1 })).toEqual({ room: 'replay', lastSeq: 4 });
      await waitUntil(() => bobs.messages.length === 2);
      expect(bobs.messages.map((m) => m.text)).toEqual(['b', 'd']);
      expect(deletions).toEqual([{ room: 'replay', seq: 3 }]);

      await bob.leave('replay');
      await alice.send('replay', 'e');
      await settle();
      expect(bobs.messages.map((m) => m.text)).toEqual(['b', 'd']);
    });

    it('fails with a typed error carrying the contract code, message and details', async () => {
      const alice = await as('alice');
      const bob = await as('bob');
      const invalid = (await alice.join('not a room!').catch((e: unknown) => e)) as SwitchboardError;
      expect(invalid).toBeInstanceOf(SwitchboardError);
      expect(invalid).toMatchObject({ code: 'BAD_REQUEST', event: 'room.join', message: expect.stringMatching(/room/) });
      expect(invalid.details).toEqual([expect.objectContaining({ field: 'room', constraint: 'roomName' })]);

      const { seq } = await alice.send('errors', 'mine');
      await expect(bob.edit('errors', seq, 'not yours')).rejects.toMatchObject({ code: 'FORBIDDEN', event: 'message.edit' });
      await expect(bob.delete('errors', 999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(alice.send('errors', { payload: { big: 'x'.repeat(70_000) } })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      expect(alice.state).toBe('open');
    });

    it("paces a burst larger than the server's rate limit (burst 100) instead of having it refused", async () => {
      const alice = await as('alice');
      const acks = await Promise.all(Array.from({ length: 150 }, (_, i) => alice.send('burst', `message ${i}`)));
      expect(acks.map((ack) => ack.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));
    });

    it('times a request out when no reply comes, and goes on when the connection recovers', async () => {
      const port = Number(new URL(server.wsUrl).port);
      const proxy: TcpProxy = await startTcpProxy(port);
      try {
        const alice = await as('alice', { url: `ws://127.0.0.1:${proxy.port}/ws` });
        proxy.hang();
        const error = (await alice.ping({ timeoutMs: 300 }).catch((e: unknown) => e)) as SwitchboardError;
        expect(error).toBeInstanceOf(SwitchboardError);
        expect(error).toMatchObject({ code: 'TIMEOUT', event: 'ping' });
        proxy.resume();
        expect((await alice.ping()).time).toEqual(expect.any(Number));
      } finally {
        await proxy.close();
      }
    });

    it('finds a connection gone silent by its heartbeat, reconnects, and resumes once the network is back', async () => {
      const proxy: TcpProxy = await startTcpProxy(Number(new URL(server.wsUrl).port));
      try {
        const alice = await as('alice', { url: `ws://127.0.0.1:${proxy.port}/ws`, heartbeatIntervalMs: 300 });
        const recording = record(alice);
        await alice.join('silent');
        const lost = nextEvent(alice, 'state', (s) => s.state === 'reconnecting');
        proxy.hang();
        expect(await lost).toMatchObject({ state: 'reconnecting', closeCode: 1006, reason: 'no reply to ping within 300 ms' });
        const bob = await as('bob');
        await bob.send('silent', 'while alice was away');
        const back = nextEvent(alice, 'state', (s) => s.state === 'open');
        proxy.resume();
        expect(await back).toEqual({ state: 'open', resumed: true });
        await waitUntil(() => recording.messages.length === 1);
        expect(recording.messages[0].text).toBe('while alice was away');
      } finally {
        await proxy.close();
      }
    });

    it('gives a timed-out send its clientMsgId to resend with, and never sends a request that timed out before its turn', async () => {
      const proxy: TcpProxy = await startTcpProxy(Number(new URL(server.wsUrl).port));
      try {
        const alice = await as('alice', { url: `ws://127.0.0.1:${proxy.port}/ws` });
        proxy.hang();
        const timedOut = (await alice.send('unknown-fate', 'stored or not?', { timeoutMs: 300 }).catch((e: unknown) => e)) as SwitchboardError;
        expect(timedOut).toMatchObject({ code: 'TIMEOUT', clientMsgId: expect.stringMatching(/^[0-9a-f]{32}$/) });
        proxy.resume();
        // It had left before the hang ended: stored once, whichever copy comes first.
        const again = await alice.send('unknown-fate', 'stored or not?', { clientMsgId: timedOut.clientMsgId });
        expect(again).toMatchObject({ seq: 1, duplicate: true });
      } finally {
        await proxy.close();
      }

      // Paced at one frame a second (bursts of two): the sends behind the burst time out before their turn.
      const slow = await as('carol', { maxFramesPerSecond: 1 });
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, (_, n) => slow.send('paced', `m${n}`, { timeoutMs: 400 }).then(() => 'stored', (e: SwitchboardError) => e.code)),
      );
      expect(outcomes.filter((o) => o === 'stored').length).toBeLessThanOrEqual(2);
      await settle(2500);
      const stored = (await slow.history('paced')).messages.length;
      expect(stored).toBe(outcomes.filter((o) => o === 'stored').length);
    });

    it('tells when an administrator archives a joined room, and does not rejoin it after a reconnect', async () => {
      const tap = tappedWebSocket();
      const alice = await as('alice', { WebSocket: tap.WebSocket });
      await alice.join('doomed');
      await alice.join('kept');
      const removed = nextEvent(alice, 'room.removed');
      expect((await http(server.httpUrl, 'DELETE', '/admin/rooms/doomed', { token: token('root') })).status).toBe(200);
      expect(await removed).toEqual({ room: 'doomed', reason: 'archived' });

      const reopened = nextEvent(alice, 'state', (s) => s.state === 'open');
      tap.sockets[0].socket.terminate();
      expect(await reopened).toEqual({ state: 'open', resumed: true });
      const bob = await as('bob');
      const kept = nextEvent(alice, 'message');
      await bob.send('kept', 'still here');
      expect((await kept).text).toBe('still here');
    });
  });

  describe('reconnecting and resuming', () => {
    it('resends a send whose ack was lost with its clientMsgId, gets duplicate: true, and shows the message once', async () => {
      const tap = tappedWebSocket();
      const alice = await as('alice', { WebSocket: tap.WebSocket });
      const alices = record(alice);
      const bob = await as('bob');
      const bobs = record(bob);
      await alice.join('lossy');
      await bob.join('lossy');
      await alice.send('lossy', 'before');

      // The server stores the send and acks it, but the ack (and the push) never reach alice.
      deafen(tap.sockets[0].socket);
      const sending = alice.send('lossy', 'ack lost', { clientMsgId: 'lost-ack' });
      await waitUntil(() => bobs.messages.length === 2);
      await bob.send('lossy', 'while alice was away');
      tap.sockets[0].socket.terminate();

      const ack = await sending;
      expect(ack).toMatchObject({ seq: 2, duplicate: true });
      await waitUntil(() => alices.messages.length === 3);
      await settle();
      expect(alices.messages.map((m) => [m.seq, m.text])).toEqual([
        [1, 'before'],
        [2, 'ack lost'],
        [3, 'while alice was away'],
      ]);
      expect(alices.states.map((s) => s.state)).toEqual(['reconnecting', 'open']);
      expect(tap.sockets).toHaveLength(2);
    });

    it('shows each seq once when the server sends a message again (a replay over what arrived live)', async () => {
      const tap = tappedWebSocket();
      const alice = await as('alice', { WebSocket: tap.WebSocket });
      const alices = record(alice);
      await alice.join('twice');
      for (const text of ['one', 'two']) await alice.send('twice', text);
      await waitUntil(() => alices.messages.length === 2);
      // A join with since 0 behind the SDK's back: the server replays 1 and 2 on its socket.
      tap.sockets[0].socket.send(JSON.stringify({ event: 'room.join', data: { room: 'twice', since: 0 } }));
      await alice.send('twice', 'three');
      await waitUntil(() => alices.messages.length >= 3);
      await settle();
      expect(alices.messages.map((m) => [m.seq, m.text])).toEqual([
        [1, 'one'],
        [2, 'two'],
        [3, 'three'],
      ]);
    });

    it('refreshes the token through getToken before exp, on the same socket (auth.refresh)', async () => {
      const issued: string[] = [];
      const client = clients.create({ getToken: () => (issued.push(token('alice', { expiresIn: 3 })), issued.at(-1)!) });
      const recording = record(client);
      await client.connect();
      const firstExp = JSON.parse(Buffer.from(issued[0].split('.')[1], 'base64url').toString()).exp as number;
      // Past the first token's exp the server would have closed the socket with 4001 without a refresh.
      await waitUntil(() => Date.now() > firstExp * 1000 + 1500 && issued.length >= 3, 10_000);
      expect((await client.ping()).time).toEqual(expect.any(Number));
      expect(recording.states.map((s) => s.state)).toEqual(['connecting', 'open']);
      expect(recording.errors).toEqual([]);
    });

    it('after a 4001 close, reconnects with a token from getToken and resumes where it was', async () => {
      const bob = await as('bob');
      await bob.join('expiry');
      await bob.send('expiry', 'before the expiry');
      // Handshakes get alice's tokens (the first one short-lived); refreshes get a token for another user, refused.
      const alice: SwitchboardClient = clients.create({
        getToken: () => (alice.state === 'open' ? token('mallory') : token('alice', { expiresIn: alice.state === 'connecting' ? 2 : 3600 })),
      });
      const recording = record(alice);
      alice.on('state', (change) => {
        if (change.state === 'reconnecting') void bob.send('expiry', 'while alice reconnects');
      });
      await alice.connect();
      await alice.join('expiry', { since: 0 });

      await waitUntil(() => recording.states.some((s) => s.state === 'open' && s.resumed), 10_000);
      expect(recording.states.find((s) => s.state === 'reconnecting')).toMatchObject({ closeCode: 4001, reason: 'token expired' });
      expect(recording.errors[0]).toMatchObject({ code: 'FORBIDDEN', event: 'auth.refresh' });
      await waitUntil(() => recording.messages.length === 2);
      await bob.send('expiry', 'after');
      await waitUntil(() => recording.messages.length === 3);
      expect(recording.messages.map((m) => m.text)).toEqual(['before the expiry', 'while alice reconnects', 'after']);
    });

    it('closes for good at a 4001 it cannot answer with a new token, failing what still waits', async () => {
      const client = await as('alice', { token: token('alice', { expiresIn: 1 }) });
      const closed = nextEvent(client, 'state', (s) => s.state === 'closed');
      expect(await closed).toEqual({ state: 'closed', closeCode: 4001, reason: 'token expired' });
      await expect(client.ping()).rejects.toMatchObject({ code: 'CLOSED' });
    });

    it('stops at 4003 (disconnected by an administrator) and says why, without reconnecting', async () => {
      let handshakes = 0;
      const client = await clients.connect({ getToken: () => (handshakes++, token('dora')) });
      const recording = record(client);
      const closed = nextEvent(client, 'state', (s) => s.state === 'closed');
      expect((await http(server.httpUrl, 'POST', '/admin/users/dora/disconnect', { token: token('root') })).status).toBe(200);
      expect(await closed).toEqual({ state: 'closed', closeCode: 4003, reason: 'disconnected by an administrator' });
      await settle(FAST_RECONNECT.maxDelayMs);
      expect(recording.states.map((s) => s.state)).toEqual(['closed']);
      expect(handshakes).toBe(1);

      // An app may decide to connect again: the client resumes its rooms.
      await client.connect();
      expect(client.state).toBe('open');
    });
  });

  describe('with first-frame authentication (WS_FIRST_FRAME_AUTH)', () => {
    let firstFrame: TestServer;
    beforeAll(async () => {
      firstFrame = await startServer(database, { WS_FIRST_FRAME_AUTH: 'true' });
    });
    afterAll(async () => {
      await firstFrame.close();
    });

    it('keeps the token out of the URL and headers and sends it in the auth frame', async () => {
      const tap = tappedWebSocket();
      const client = await clients.connect({ url: firstFrame.wsUrl, auth: 'first-frame', WebSocket: tap.WebSocket, getToken: () => token('alice') });
      expect(tap.sockets.map(({ url, headers }) => ({ url, headers }))).toEqual([{ url: firstFrame.wsUrl, headers: undefined }]);
      expect(await client.join('first-frame')).toEqual({ room: 'first-frame', lastSeq: 0 });
    });

    it('waits for ever for the auth reply with requestTimeoutMs 0, as for any reply', async () => {
      const client = clients.create({ url: firstFrame.wsUrl, auth: 'first-frame', token: token('alice'), requestTimeoutMs: 0 });
      const recording = record(client);
      await client.connect();
      await settle(500);
      expect(recording.states.map((s) => s.state)).toEqual(['connecting', 'open']);
    });

    it('closes for good when the auth frame is refused and there is no getToken', async () => {
      const client = clients.create({ url: firstFrame.wsUrl, auth: 'first-frame', token: 'not-a-jwt' });
      const recording = record(client);
      await expect(client.connect()).rejects.toMatchObject({ code: 'CLOSED' });
      expect(recording.states.at(-1)).toEqual({ state: 'closed', closeCode: 4001, reason: 'invalid token' });
      expect(recording.errors).toEqual([expect.objectContaining({ code: 'UNAUTHORIZED', event: 'auth' })]);
    });
  });

  describe('with the token in a cookie (WS_AUTH_COOKIE)', () => {
    let cookieServer: TestServer;
    beforeAll(async () => {
      cookieServer = await startServer(database, { WS_AUTH_COOKIE: 'session' });
    });
    afterAll(async () => {
      await cookieServer.close();
    });

    it('sends the token in the named cookie (in Node; a browser sends its own)', async () => {
      const tap = tappedWebSocket();
      const client = await clients.connect({ url: cookieServer.wsUrl, auth: 'cookie', cookieName: 'session', token: token('alice'), WebSocket: tap.WebSocket });
      expect(tap.sockets[0].headers).toEqual({ Cookie: expect.stringMatching(/^session=ey/) });
      expect((await client.ping()).time).toEqual(expect.any(Number));
    });
  });
});
