import { request } from 'node:http';
import { jest } from '@jest/globals';
import Database from 'better-sqlite3';
import { AuthorizationService } from '../../src/authorization/authorization.service.js';
import { describeEachDatabase, freshDatabase } from '../support/databases.js';
import { floodRoom } from '../support/firehose.js';
import { http } from '../support/http.js';
import { startRedis, stopRedis, type RedisServer } from '../support/redis-server.js';
import { clusterMissing, describeNeeding } from '../support/requirements.js';
import { SseClient, type SseOptions } from '../support/sse-client.js';
import { suiteServer } from '../support/suite-server.js';
import { rejectedUpgrade, TestClient } from '../support/test-client.js';
import { startServer, type TestServer } from '../support/test-server.js';
import { token, type TokenOptions } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

const COOKIE = 'sb_token';
const seqs = (events: Array<{ id?: string }>) => events.map((e) => e.id);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describeEachDatabase('HTTP fallbacks', (kind) => {
  // Heartbeats every 200 ms, so that a test can see them.
  const suite = suiteServer(kind, { WS_AUTH_COOKIE: COOKIE, WS_PING_INTERVAL_MS: '200' });
  const url = () => suite.server.httpUrl;
  const streams: SseClient[] = [];
  afterEach(() => streams.splice(0).forEach((stream) => stream.close()));

  const stream = async (sub: string, path: string, options: SseOptions & { claims?: TokenOptions } = {}) => {
    const opened = await SseClient.open(url(), path, { token: token(sub, options.claims), ...options });
    streams.push(opened);
    return opened;
  };
  const post = (sub: string, room: string, body: unknown, claims?: TokenOptions) =>
    http(url(), 'POST', `/rooms/${room}/messages`, { token: token(sub, claims), body });
  const get = (sub: string, path: string, claims?: TokenOptions) => http(url(), 'GET', path, { token: token(sub, claims) });
  const admin = (method: string, path: string, body?: unknown) => http(url(), method, path, { token: token('root'), body });

  it('delivers a message sent over WebSocket to SSE and long-poll clients, and a POSTed one to WebSocket members', async () => {
    const alice = await suite.connect('alice', { name: 'Alice' });
    await alice.ok('room.join', { room: 'bridge' });
    const bob = await stream('bob', '/rooms/bridge/events');
    expect(bob.status).toBe(200);
    expect(bob.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const polled = get('carol', '/rooms/bridge/poll?after=0&timeout=30');

    const ack = await alice.ok('message.send', { room: 'bridge', text: 'over the socket', clientMsgId: 'w1' });
    const [pushed] = await bob.waitFor('message');
    expect(pushed).toEqual({
      event: 'message',
      id: String(ack.seq),
      data: {
        room: 'bridge',
        seq: ack.seq,
        messageId: ack.messageId,
        clientMsgId: 'w1',
        sender: { id: 'alice', name: 'Alice' },
        text: 'over the socket',
        sentAt: ack.sentAt,
      },
    });
    expect(await polled).toEqual({ status: 200, body: { room: 'bridge', messages: [pushed.data], hasMore: false } });

    const posted = await post('bob', 'bridge', { text: 'over HTTP', payload: { n: 1 }, clientMsgId: 'h1' }, { name: 'Bob' });
    expect(posted).toEqual({
      status: 201,
      body: { room: 'bridge', seq: 2, messageId: expect.stringMatching(/^[0-9a-f-]{36}$/), sentAt: expect.any(String), duplicate: false },
    });
    const received = await alice.next((frame) => frame.event === 'message' && frame.data.seq === 2);
    expect(received.data).toEqual({
      room: 'bridge',
      seq: 2,
      messageId: posted.body.messageId,
      clientMsgId: 'h1',
      sender: { id: 'bob', name: 'Bob' },
      text: 'over HTTP',
      payload: { n: 1 },
      sentAt: posted.body.sentAt,
    });
    expect(seqs(await bob.waitFor('message', 2))).toEqual(['1', '2']);
    expect((await get('carol', '/rooms/bridge/messages')).body.messages).toEqual([pushed.data, received.data]);
  });

  it('resumes a stream after Last-Event-ID or ?since= with every message missed, in order, once, ids being seqs', async () => {
    const sender = await suite.connect('sender');
    const send = (n: number) => sender.ok('message.send', { room: 'resume', text: `m${n}`, clientMsgId: `r${n}` });
    for (let n = 1; n <= 3; n++) await send(n);

    const first = await stream('bob', '/rooms/resume/events?since=1');
    // Others keep sending while the replay runs.
    await Promise.all(Array.from({ length: 10 }, (_, i) => send(4 + i)));
    const delivered = await first.waitFor('message', 12);
    await first.settle();
    expect(seqs(first.of('message'))).toEqual(range(2, 13));
    expect(delivered.map((e) => String(e.data.seq))).toEqual(range(2, 13));
    first.close();

    // Sent, and one deleted, while the stream was down.
    for (let n = 14; n <= 16; n++) await send(n);
    await sender.ok('message.delete', { room: 'resume', seq: 15 });

    // An EventSource reconnects to the URL it first opened, with the last id it saw: the header wins.
    const second = await stream('bob', '/rooms/resume/events?since=1', { lastEventId: '13' });
    await second.waitFor('message', 3);
    await send(17);
    await second.waitFor('message', 4);
    await second.settle();
    expect(second.events.map((e) => [e.event, e.id])).toEqual([
      ['message', '14'],
      ['message', '15'],
      ['message', '16'],
      ['message', '17'],
    ]);
    expect(second.events[1].data).toEqual({ room: 'resume', seq: 15, deleted: true });

    const third = await stream('carol', '/rooms/resume/events?since=15');
    expect(seqs(await third.waitFor('message', 2))).toEqual(['16', '17']);

    // Without either, only what comes next.
    const fourth = await stream('dave', '/rooms/resume/events');
    await send(18);
    expect(seqs(await fourth.waitFor('message'))).toEqual(['18']);
    await fourth.settle();
    expect(fourth.of('message')).toHaveLength(1);

    for (const bad of ['abc', '-1', '1.5', '']) {
      const refused = await stream('bob', '/rooms/resume/events', { lastEventId: bad });
      await refused.ended;
      expect(refused.status).toBe(400);
      expect(refused.body.details).toEqual([expect.objectContaining({ field: 'Last-Event-ID' })]);
    }
    const badSince = await stream('bob', '/rooms/resume/events?since=x');
    await badSince.ended;
    expect(badSince.status).toBe(400);
    expect(badSince.body.details).toEqual([expect.objectContaining({ field: 'since', constraint: 'integer' })]);
  });

  it('streams edits, deletions, presence and typing, and sends heartbeat comments', async () => {
    const alice = await suite.connect('alice', { name: 'Alice' });
    await alice.ok('room.join', { room: 'lounge' });
    const bob = await stream('bob', '/rooms/lounge/events', { claims: { name: 'Bob' } });
    // A stream is in the room like a socket.
    expect((await alice.nextPush('presence.join', 'lounge')).data).toEqual({ room: 'lounge', user: { id: 'bob', name: 'Bob' } });
    expect((await alice.ok('presence.list', { room: 'lounge' })).users).toEqual(
      expect.arrayContaining([{ id: 'alice', name: 'Alice' }, { id: 'bob', name: 'Bob' }]),
    );

    const carol = await suite.connect('carol', { name: 'Carol' });
    await carol.ok('room.join', { room: 'lounge' });
    const [joined] = await bob.waitFor('presence.join');
    expect(joined).toEqual({ event: 'presence.join', data: { room: 'lounge', user: { id: 'carol', name: 'Carol' } } });
    await alice.ok('typing', { room: 'lounge' });
    expect((await bob.waitFor('typing'))[0]).toEqual({ event: 'typing', data: { room: 'lounge', user: { id: 'alice', name: 'Alice' } } });

    const { seq } = await alice.ok('message.send', { room: 'lounge', text: 'draft', clientMsgId: 'l1' });
    const { editedAt } = await alice.ok('message.edit', { room: 'lounge', seq, text: 'final' });
    await alice.ok('message.delete', { room: 'lounge', seq });
    // Only message pushes carry an id: an edit or a deletion does not move the resume point.
    expect((await bob.waitFor('message.updated'))[0]).toEqual({ event: 'message.updated', data: { room: 'lounge', seq, text: 'final', editedAt } });
    expect((await bob.waitFor('message.deleted'))[0]).toEqual({ event: 'message.deleted', data: { room: 'lounge', seq } });

    await waitUntil(() => bob.comments.includes('heartbeat'));
    bob.close();
    expect((await alice.nextPush('presence.leave', 'lounge')).data).toEqual({ room: 'lounge', user: { id: 'bob', name: 'Bob' } });
  });

  describe('long poll', () => {
    beforeAll(async () => {
      for (let n = 1; n <= 3; n++) await post('alice', 'polled', { text: `m${n}`, clientMsgId: `p${n}` });
    });

    it('answers at once when messages after `after` exist, in pages', async () => {
      const all = await get('bob', '/rooms/polled/poll?after=1');
      expect(all.status).toBe(200);
      expect(all.body).toEqual({ room: 'polled', messages: [expect.objectContaining({ seq: 2, text: 'm2' }), expect.objectContaining({ seq: 3 })], hasMore: false });
      const paged = await get('bob', '/rooms/polled/poll?after=0&limit=2');
      expect(paged.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
      expect(paged.body.hasMore).toBe(true);
    });

    it('wakes up when a message arrives', async () => {
      // With nothing after 3, an answer holding seq 4 can only come once 4 was stored (well before the 30 s timeout).
      const waiting = get('bob', '/rooms/polled/poll?after=3&timeout=30');
      await new Promise((resolve) => setTimeout(resolve, 300));
      // A message in another room does not answer it.
      await post('alice', 'elsewhere', { text: 'not for the poll', clientMsgId: 'e1' });
      const sent = await post('alice', 'polled', { text: 'm4', clientMsgId: 'p4' });
      const answer = await waiting;
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ room: 'polled', messages: [expect.objectContaining({ seq: 4, text: 'm4', messageId: sent.body.messageId })], hasMore: false });
    });

    it('answers an empty page at the timeout', async () => {
      expect(await get('bob', '/rooms/polled/poll?after=100&timeout=1')).toEqual({
        status: 200,
        body: { room: 'polled', messages: [], hasMore: false },
      });
    });

    it('refuses a timeout out of 1 to 60, a missing or malformed after, and a bad limit', async () => {
      for (const query of ['after=0&timeout=0', 'after=0&timeout=61', 'after=0&timeout=abc', 'after=0&timeout=1.5', 'after=0&timeout=']) {
        const refused = await get('bob', `/rooms/polled/poll?${query}`);
        expect(refused.status).toBe(400);
        expect(refused.body).toMatchObject({ code: 'BAD_REQUEST', details: [{ field: 'timeout', constraint: 'integer', message: 'timeout must be an integer from 1 to 60' }] });
      }
      for (const query of ['', 'after=abc', 'after=-1', 'after=1&after=2', 'after=0x1']) {
        const refused = await get('bob', `/rooms/polled/poll?${query}`);
        expect(refused.status).toBe(400);
        expect(refused.body.details).toEqual([expect.objectContaining({ field: 'after' })]);
      }
      expect((await get('bob', '/rooms/polled/poll?after=0&limit=101')).body.details).toEqual([expect.objectContaining({ field: 'limit' })]);
    });
  });

  it('pages history as history.fetch does, and refuses malformed queries with field details', async () => {
    for (let n = 1; n <= 6; n++) await post('alice', 'paged', { text: `m${n}`, clientMsgId: `h${n}` });
    const page = async (query: string) => {
      const { status, body } = await get('bob', `/rooms/paged/messages${query}`);
      expect(status).toBe(200);
      return [body.messages.map((m: { seq: number }) => m.seq), body.hasMore];
    };
    expect(await page('?limit=2')).toEqual([[5, 6], true]);
    expect(await page('?before=5&limit=2')).toEqual([[3, 4], true]);
    expect(await page('?after=4')).toEqual([[5, 6], false]);
    expect(await page('?after=1&before=4')).toEqual([[2, 3], false]);
    const socket = await suite.connect('bob');
    expect((await get('bob', '/rooms/paged/messages?after=2&limit=3')).body).toEqual(await socket.ok('history.fetch', { room: 'paged', after: 2, limit: 3 }));

    for (const [query, field] of [
      ['after=abc', 'after'],
      ['after=', 'after'],
      ['after=1e2', 'after'],
      ['before=0', 'before'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
    ]) {
      const refused = await get('bob', `/rooms/paged/messages?${query}`);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'BAD_REQUEST', details: [expect.objectContaining({ field, constraint: 'integer' })] });
    }
    expect((await get('bob', '/rooms/never-created/messages')).status).toBe(404);
    expect((await get('bob', '/rooms/bad%20name/messages')).body).toMatchObject({ statusCode: 400, details: [expect.objectContaining({ field: 'room' })] });
  });

  it('stores a POSTed message once per clientMsgId, and refuses bad bodies with field details', async () => {
    const first = await post('alice', 'idem', { text: 'once', clientMsgId: 'same' });
    expect(first.status).toBe(201);
    const again = await post('alice', 'idem', { text: 'once, retried', clientMsgId: 'same' });
    expect(again).toEqual({ status: 200, body: { ...first.body, duplicate: true } });
    expect((await get('alice', '/rooms/idem/messages')).body.messages.map((m: { text: string }) => m.text)).toEqual(['once']);

    const refusals: Array<[unknown, string[]]> = [
      [{ clientMsgId: 'c' }, ['text']],
      [{ text: 'hi' }, ['clientMsgId']],
      [{ text: '', clientMsgId: 'c' }, ['text']],
      [{ text: 'x'.repeat(4001), clientMsgId: 'c' }, ['text']],
      [{ text: 5, clientMsgId: 'c' }, ['text']],
      [{ text: 'hi', clientMsgId: 'x'.repeat(65) }, ['clientMsgId']],
      [{ payload: [1, 2], clientMsgId: 'c' }, ['payload']],
      [{ text: null, clientMsgId: null }, ['text', 'clientMsgId']],
    ];
    for (const [body, fields] of refusals) {
      const refused = await post('alice', 'idem', body);
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('BAD_REQUEST');
      expect([...new Set(refused.body.details.map((d: { field: string }) => d.field))].sort()).toEqual(fields.sort());
    }
    const raw = async (body: string, contentType?: string) => {
      const response = await fetch(`${url()}/rooms/idem/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token('alice')}`, ...(contentType ? { 'Content-Type': contentType } : {}) },
        body,
      });
      return [response.status, await response.json()];
    };
    const refusal = (message: string | RegExp) => [400, { statusCode: 400, code: 'BAD_REQUEST', message: expect.stringMatching(message) }];
    expect(await raw('{"text": ', 'application/json')).toEqual(refusal(/^the body is not valid JSON: /));
    expect(await raw('null', 'application/json')).toEqual(refusal(/^the body must be a JSON object$/));
    const json = JSON.stringify({ text: 'hi', clientMsgId: 'typed' });
    expect(await raw(json, 'text/plain')).toEqual(refusal(/^the body must be JSON, sent with Content-Type: application\/json, not text\/plain$/));
    expect(await raw(json)).toEqual(refusal(/^the body must be JSON, sent with Content-Type: application\/json, not text\/plain$/));
    expect(await raw(json, 'application/json; charset=utf-8')).toEqual([201, expect.objectContaining({ duplicate: false })]);
    expect((await post('alice', 'bad:name!', { text: 'hi', clientMsgId: 'c' })).body.details).toEqual([expect.objectContaining({ field: 'room' })]);
    expect((await get('alice', '/rooms/idem/messages')).body.messages.map((m: { clientMsgId: string }) => m.clientMsgId)).toEqual(['same', 'typed']);
  });

  it('refuses a JSON array as a body, and a query parameter given as a list, with 400 saying so', async () => {
    await post('alice', 'lists', { text: 'kept', clientMsgId: 'l1' });
    const bodyRefusal = 'the body must be a JSON object';
    for (const body of [[], [{ text: 'in a list', clientMsgId: 'l2' }]]) {
      expect(await post('alice', 'lists', body)).toEqual({
        status: 400,
        body: { statusCode: 400, code: 'BAD_REQUEST', message: bodyRefusal, details: [{ field: 'body', constraint: 'isObject', message: bodyRefusal }] },
      });
    }
    const refusal = (field: string) => {
      const message = `${field} must be given once, as a single value`;
      return { statusCode: 400, code: 'BAD_REQUEST', message, details: [{ field, constraint: 'singleValue', message }] };
    };
    for (const [path, field] of [
      ['/rooms/lists/messages?after[]=1', 'after'],
      ['/rooms/lists/messages?after[x]=1', 'after'],
      ['/rooms/lists/messages?after=0&after[]=1', 'after'],
      ['/rooms/lists/messages?limit[]=1', 'limit'],
      ['/rooms/lists/messages?after=1&after=2', 'after'],
      ['/rooms/lists/poll?after[]=0', 'after'],
      ['/rooms/lists/poll?after=0&timeout[]=1', 'timeout'],
    ]) {
      expect(await get('bob', path)).toEqual({ status: 400, body: refusal(field) });
    }
    // Not a stream that ignores since.
    const streamed = await stream('bob', '/rooms/lists/events?since[]=0');
    expect(streamed.status).toBe(400);
    await streamed.ended;
    expect(streamed.body).toEqual(refusal('since'));
    // Parameters no route has are still ignored.
    expect((await get('bob', '/rooms/lists/messages?tags[]=a')).status).toBe(200);
    expect((await get('bob', '/rooms/lists/messages')).body.messages.map((m: { clientMsgId: string }) => m.clientMsgId)).toEqual(['l1']);
  });

  it('refuses a body that is not UTF-8 with 400, as a WebSocket frame is refused, instead of storing U+FFFD', async () => {
    const raw = (path: string, sub: string, bytes: Buffer) =>
      fetch(`${url()}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token(sub)}`, 'content-type': 'application/json' }, body: bytes });
    const notUtf8 = (json: string) => Buffer.concat([Buffer.from(json.slice(0, json.indexOf('@'))), Buffer.from([0xff, 0xc3, 0x28]), Buffer.from(json.slice(json.indexOf('@') + 1))]);
    for (const [path, sub, json] of [
      ['/rooms/bytes/messages', 'alice', '{"text":"a@b","clientMsgId":"u1"}'],
      ['/admin/rooms/bytes/messages', 'root', '{"text":"a@b"}'],
    ]) {
      const response = await raw(path, sub, notUtf8(json));
      expect([response.status, await response.json()]).toEqual([400, { statusCode: 400, code: 'BAD_REQUEST', message: 'the body is not valid UTF-8' }]);
    }
    expect((await raw('/rooms/bytes/messages', 'alice', Buffer.from('{"text":"é ok","clientMsgId":"u2"}'))).status).toBe(201);
    expect((await get('alice', '/rooms/bytes/messages')).body.messages.map((m: { text: string }) => m.text)).toEqual(['é ok']);
  });

  it('takes the token from the header, the access_token query parameter, or on GET the cookie, and refuses others with 401', async () => {
    const valid = token('tina');
    const routes = ['/rooms/auth/messages', '/rooms/auth/poll?after=0&timeout=1'];
    const send = (init: RequestInit, query = '') =>
      fetch(`${url()}/rooms/auth/messages${query}`, {
        method: 'POST',
        ...init,
        headers: { 'Content-Type': 'application/json', ...init.headers },
        body: JSON.stringify({ text: 'hi', clientMsgId: `a${Math.random()}` }),
      });

    expect((await send({}, `?access_token=${valid}`)).status).toBe(201);
    for (const path of routes) {
      const bad = [undefined, 'not-a-jwt', token('tina', { secret: 'another-secret-that-is-long-enough-0123456789' }), token('tina', { expiresIn: -60 })];
      for (const candidate of bad) {
        const refused = await http(url(), 'GET', path, { token: candidate });
        expect(refused.status).toBe(401);
        expect(refused.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
        expect(JSON.stringify(refused.body)).not.toMatch(/at .*\.(ts|js)/);
      }
      const separator = path.includes('?') ? '&' : '?';
      expect((await fetch(`${url()}${path}${separator}access_token=${valid}`)).status).toBe(200);
      const twice = await fetch(`${url()}${path}${separator}access_token=${valid}&access_token=${valid}`);
      expect([twice.status, ((await twice.json()) as { code: string }).code]).toEqual([401, 'UNAUTHORIZED']);
      expect((await fetch(`${url()}${path}`, { headers: { Cookie: `${COOKIE}=${valid}` } })).status).toBe(200);
      expect((await fetch(`${url()}${path}`, { headers: { Cookie: `${COOKIE}=${valid}`, Origin: new URL(url()).origin } })).status).toBe(200);
      // Another site's page reading the stream with the user's cookie.
      const crossSite = await fetch(`${url()}${path}`, { headers: { Cookie: `${COOKIE}=${valid}`, Origin: 'https://evil.example' } });
      expect([crossSite.status, ((await crossSite.json()) as { code: string }).code]).toEqual([403, 'FORBIDDEN']);
    }
    expect((await send({})).status).toBe(401);
    // A cookie goes along with other sites' requests: it does not authorise a POST.
    expect((await send({ headers: { Cookie: `${COOKIE}=${valid}` } })).status).toBe(401);

    const refusedStream = await stream('tina', '/rooms/auth/events', { token: 'not-a-jwt' });
    await refusedStream.ended;
    expect(refusedStream.status).toBe(401);
    expect(refusedStream.body).toMatchObject({ code: 'UNAUTHORIZED' });
    for (const via of ['query', { cookie: COOKIE }] as const) {
      const opened = await stream('tina', '/rooms/auth/events', { via });
      expect(opened.status).toBe(200);
    }
  });

  it('checks the permission of each route in the room it names', async () => {
    await admin('PUT', '/admin/users/vera/roles/viewer');
    expect((await admin('POST', '/admin/roles', { name: 'sender-only', permissions: ['message.send'] })).status).toBe(201);
    await admin('PUT', '/admin/users/sam/roles/sender-only');
    await admin('PUT', '/admin/users/tess/roles/member', { scope: 'team-*' });
    await post('alice', 'perms', { text: 'hello', clientMsgId: 'x1' });

    // A viewer reads but does not send.
    const refused = await post('vera', 'perms', { text: 'hi', clientMsgId: 'v1' });
    expect(refused).toEqual({ status: 403, body: expect.objectContaining({ code: 'FORBIDDEN', message: expect.stringContaining('message.send') }) });
    expect((await get('vera', '/rooms/perms/messages')).status).toBe(200);
    expect((await stream('vera', '/rooms/perms/events')).status).toBe(200);

    // Without history.read and room.join: sends, but reads nothing.
    expect((await post('sam', 'perms', { text: 'hi', clientMsgId: 's1' })).status).toBe(201);
    const noHistory = await get('sam', '/rooms/perms/messages');
    expect(noHistory).toEqual({ status: 403, body: expect.objectContaining({ code: 'FORBIDDEN', message: expect.stringContaining('history.read') }) });
    expect((await get('sam', '/rooms/perms/poll?after=0&timeout=1')).status).toBe(403);
    const noJoin = await stream('sam', '/rooms/perms/events');
    await noJoin.ended;
    expect(noJoin.status).toBe(403);

    // Scoped roles count in their rooms only.
    expect((await post('tess', 'team-1', { text: 'hi', clientMsgId: 't1' })).status).toBe(201);
    expect((await post('tess', 'perms', { text: 'hi', clientMsgId: 't2' })).status).toBe(403);
    expect((await get('tess', '/rooms/team-1/messages')).status).toBe(200);
    expect((await get('tess', '/rooms/perms/messages')).status).toBe(403);
  });

  it('keeps tenants apart', async () => {
    const acme = { tid: 'acme' };
    const globex = { tid: 'globex' };
    const acmeStream = await stream('amy', '/rooms/shared/events', { claims: acme });
    const globexStream = await stream('gus', '/rooms/shared/events', { claims: globex });
    expect((await post('amy', 'shared', { text: 'acme only', clientMsgId: 'a1' }, acme)).body.seq).toBe(1);
    expect((await acmeStream.waitFor('message'))[0].data.text).toBe('acme only');
    expect((await get('gus', '/rooms/shared/poll?after=0&timeout=1', globex)).body.messages).toEqual([]);
    await globexStream.settle();
    expect(globexStream.events).toEqual([]);
    expect((await get('gus', '/rooms/shared/messages', globex)).body.messages).toEqual([]);
    // Another tenant's room does not exist for them.
    expect((await get('gus', '/rooms/acme-private/messages', globex)).status).toBe(404);
    await post('amy', 'acme-private', { text: 'x', clientMsgId: 'p1' }, acme);
    expect((await get('gus', '/rooms/acme-private/messages', globex)).status).toBe(404);
    expect((await get('amy', '/rooms/acme-private/messages', acme)).status).toBe(200);
  });

  it('ends an open stream when the room is archived, and answers 404 to sends, streams and polls there', async () => {
    await post('alice', 'closing', { text: 'last words', clientMsgId: 'c1' });
    const bob = await stream('bob', '/rooms/closing/events');
    expect((await admin('DELETE', '/admin/rooms/closing')).status).toBe(200);
    await bob.waitForEnd();
    expect(bob.events).toEqual([
      { event: 'room.removed', data: { room: 'closing', reason: 'archived' } },
      { event: 'close', data: { code: 1000, reason: 'no longer a member of the room' } },
    ]);

    expect((await post('alice', 'closing', { text: 'too late', clientMsgId: 'c2' })).status).toBe(404);
    expect((await get('bob', '/rooms/closing/poll?after=0&timeout=1')).status).toBe(404);
    const refused = await stream('bob', '/rooms/closing/events');
    await refused.ended;
    expect(refused.status).toBe(404);
    expect(refused.body).toMatchObject({ code: 'NOT_FOUND' });
    // History stays readable, as over the socket.
    expect((await get('bob', '/rooms/closing/messages')).body.messages.map((m: { text: string }) => m.text)).toEqual(['last words']);
  });

  it('ends an open stream when its user loses room.join there through the admin API', async () => {
    await admin('PUT', '/admin/users/reader/roles/viewer', { scope: 'news' });
    const reader = await stream('reader', '/rooms/news/events');
    await post('root', 'news', { text: 'first', clientMsgId: 'n1' });
    await reader.waitFor('message');

    await admin('DELETE', '/admin/users/reader/roles/viewer');
    await admin('PUT', '/admin/users/reader/roles/viewer', { scope: 'sports' });
    await reader.waitForEnd();
    await post('root', 'news', { text: 'second', clientMsgId: 'n2' });
    expect(reader.events.map((e) => e.event)).toEqual(['message', 'room.removed', 'close']);
    expect(reader.events[1].data).toEqual({ room: 'news', reason: 'forbidden' });
    const again = await stream('reader', '/rooms/news/events');
    await again.ended;
    expect(again.status).toBe(403);
  });

  it('ends the streams of a user an admin disconnects, with 4003', async () => {
    const mallory = await stream('mallory', '/rooms/kick/events');
    expect((await admin('POST', '/admin/users/mallory/disconnect')).status).toBe(200);
    await mallory.waitForEnd();
    expect(mallory.of('close')).toEqual([{ event: 'close', data: { code: 4003, reason: 'disconnected by an administrator' } }]);
  });

  it('lists the routes in the OpenAPI document', async () => {
    const { paths } = (await http(url(), 'GET', '/docs-json')).body;
    expect(Object.keys(paths['/rooms/{room}/messages']).sort()).toEqual(['get', 'post']);
    expect(paths['/rooms/{room}/events'].get.responses['200'].content).toHaveProperty(['text/event-stream']);
    expect(paths['/rooms/{room}/poll'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['room', 'after', 'timeout', 'limit', 'access_token']),
    );
  });

  it('ends a stream at its token expiry, with 4001', async () => {
    const brief = await stream('brief', '/rooms/expiring/events', { claims: { expiresIn: 2 } });
    expect(brief.status).toBe(200);
    await brief.waitForEnd();
    expect(brief.of('close')).toEqual([{ event: 'close', data: { code: 4001, reason: 'token expired' } }]);
  });
});

describe('HTTP fallbacks: limits', () => {
  const suite = suiteServer('sqlite', {
    WS_MAX_BUFFERED_BYTES: '131072',
    WS_MAX_SOCKETS_PER_USER: '2',
    WS_RATE_LIMIT_PER_SECOND: '100000',
    WS_RATE_LIMIT_BURST: '100000',
  });

  it('counts event streams with sockets against the per-user cap (429)', async () => {
    await suite.connect('busy');
    const allowed = await SseClient.open(suite.server.httpUrl, '/rooms/capped/events', { token: token('busy') });
    expect(allowed.status).toBe(200);
    const refused = await SseClient.open(suite.server.httpUrl, '/rooms/capped/events', { token: token('busy') });
    await refused.ended;
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', message: 'this user has 2 sockets, event streams and polls open, the most allowed' });
    allowed.close();
  });

  it('counts waiting long polls with sockets and streams against the per-user cap', async () => {
    const { httpUrl, wsUrl } = suite.server;
    const polls = [1, 2].map(() => http(httpUrl, 'GET', '/rooms/capped-polls/poll?after=0&timeout=3', { token: token('poller') }));
    await waitUntil(async () => (await http(httpUrl, 'GET', '/rooms/capped-polls/poll?after=0&timeout=1', { token: token('poller') })).status === 429);
    const stream = await SseClient.open(httpUrl, '/rooms/capped-polls/events', { token: token('poller') });
    await stream.ended;
    expect(stream.status).toBe(429);
    expect((await rejectedUpgrade(wsUrl, { token: token('poller') })).status).toBe(429);
    await Promise.all(polls);
    (await suite.connect('poller')).close();
  });

  it('keeps no stream or poll whose client went away while its guards ran', async () => {
    const { httpUrl } = suite.server;
    const authorization = suite.server.app.get(AuthorizationService);
    const check = authorization.assertAny.bind(authorization);
    // A permission check that takes a while (a busy database).
    const slowed = jest.spyOn(authorization, 'assertAny').mockImplementation(async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return check(...args);
    });
    try {
      for (const path of ['/rooms/left/events', '/rooms/left/events', '/rooms/left/poll?after=0&timeout=30']) {
        const abandoned = request(new URL(path, httpUrl), { headers: { Authorization: `Bearer ${token('leaver')}` } });
        abandoned.on('error', () => undefined);
        abandoned.end();
        await new Promise((resolve) => setTimeout(resolve, 100));
        abandoned.destroy();
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      slowed.mockRestore();
    }
    // Nothing of them stayed: not in presence, not against the cap of 2.
    const watcher = await suite.connect('watcher');
    await watcher.ok('room.join', { room: 'left' });
    expect((await watcher.ok('presence.list', { room: 'left' })).users.map((user: { id: string }) => user.id)).toEqual(['watcher']);
    const streams = await Promise.all([1, 2].map(() => SseClient.open(httpUrl, '/rooms/left/events', { token: token('leaver') })));
    expect(streams.map((stream) => stream.status)).toEqual([200, 200]);
    for (const stream of streams) stream.close();
  });

  it('closes a stream that stops reading as a slow consumer (4009) instead of buffering for it', async () => {
    const stalled = await SseClient.open(suite.server.httpUrl, '/rooms/firehose/events', { token: token('slow') });
    await waitUntil(() => stalled.comments.length > 0);
    stalled.pauseReading();
    await floodRoom(suite, 'firehose');
    stalled.resumeReading();
    await stalled.waitForEnd(20_000);
    expect(stalled.of('message').length).toBeLessThan(600);
    expect(stalled.events.at(-1)).toEqual({
      event: 'close',
      data: { code: 4009, reason: 'slow consumer: too much unread data; reconnect and resume with since' },
    });
  });
});

/** As in shutdown.e2e-spec: another connection holds the SQLite write lock, so a send is in progress when the server starts to stop. */
describe('HTTP fallbacks: a graceful shutdown', () => {
  it('ends open streams with 1012 and pending polls with an empty page, and refuses new ones with 503 meanwhile', async () => {
    const database = await freshDatabase('sqlite');
    const server = await startServer(database);
    const stream = await SseClient.open(server.httpUrl, '/rooms/drain/events', { token: token('bob') });
    const poll = http(server.httpUrl, 'GET', '/rooms/drain/poll?after=0&timeout=60', { token: token('carol') });
    const alice = await TestClient.connect(server.wsUrl, { token: token('alice') });

    const lock = new Database(database.sqlitePath!);
    lock.exec('BEGIN IMMEDIATE');
    const inFlight = alice.request('message.send', { room: 'other', text: 'in flight', clientMsgId: 'd1' });
    await alice.settle(100);
    const closing = server.close();
    await alice.settle(100);

    const refusedStream = await SseClient.open(server.httpUrl, '/rooms/drain/events', { token: token('dave') });
    await refusedStream.ended;
    expect(refusedStream.status).toBe(503);
    expect(refusedStream.body).toMatchObject({ code: 'UNAVAILABLE' });
    expect((await http(server.httpUrl, 'GET', '/rooms/drain/poll?after=0&timeout=60', { token: token('erin') })).status).toBe(503);
    expect(await poll).toEqual({ status: 200, body: { room: 'drain', messages: [], hasMore: false } });

    lock.exec('COMMIT');
    lock.close();
    await inFlight;
    await stream.waitForEnd();
    expect(stream.of('close')).toEqual([{ event: 'close', data: { code: 1012, reason: 'server restarting; reconnect and resume with since' } }]);
    await closing;
  });
});

describeNeeding('HTTP fallbacks in a cluster of two nodes', clusterMissing(), () => {
  let redis: RedisServer;
  const nodes: TestServer[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const database = await freshDatabase('postgres');
    for (let n = 0; n < 2; n++) nodes.push(await startServer(database, { REDIS_URL: redis.url }));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    if (redis) stopRedis(redis);
  });

  it('delivers a message sent on one node to streams and polls on the other, and a POST to sockets there', async () => {
    const [a, b] = nodes;
    const stream = await SseClient.open(a.httpUrl, '/rooms/across/events', { token: token('bob') });
    const socket = await TestClient.connect(b.wsUrl, { token: token('alice') });
    await socket.ok('room.join', { room: 'across' });
    const polled = http(a.httpUrl, 'GET', '/rooms/across/poll?after=0&timeout=30', { token: token('carol') });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const sent = await socket.ok('message.send', { room: 'across', text: 'from node b', clientMsgId: 'b1' });
    const [event] = await stream.waitFor('message');
    expect(event).toMatchObject({ id: '1', data: { seq: 1, messageId: sent.messageId, text: 'from node b' } });
    expect((await polled).body.messages).toEqual([event.data]);

    const posted = await http(a.httpUrl, 'POST', '/rooms/across/messages', { token: token('bob'), body: { text: 'from node a', clientMsgId: 'a1' } });
    expect(posted.status).toBe(201);
    expect((await socket.next((frame) => frame.event === 'message' && frame.data.seq === 2)).data.text).toBe('from node a');
    expect(seqs(await stream.waitFor('message', 2))).toEqual(['1', '2']);
    stream.close();
    await socket.close();
  });
});

describe('HTTP fallbacks under the rate limit [sqlite]', () => {
  const suite = suiteServer('sqlite', { WS_RATE_LIMIT_PER_SECOND: '1', WS_RATE_LIMIT_BURST: '3' });

  it("answers a user's requests beyond the budget with 429, charges large pages, and leaves other users alone", async () => {
    const get = (user: string, path: string) => http(suite.server.httpUrl, 'GET', path, { token: token(user) });
    const sender = await TestClient.connect(suite.server.wsUrl, { token: token('sender') });
    await sender.ok('message.send', { room: 'budget', text: 'hello', clientMsgId: 'h' });
    const statuses = [];
    for (let n = 0; n < 4; n++) statuses.push((await get('hasty', '/rooms/budget/messages')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await fetch(`${suite.server.httpUrl}/rooms/budget/messages`, { headers: { Authorization: `Bearer ${token('hasty')}` } });
    expect(await refused.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    // The seconds until this budget takes a request again: less than one at 1 a second.
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await get('patient', '/rooms/budget/messages')).status).toBe(200);

    // A page of about 96 KB costs its size: after it, the next request finds the budget spent.
    await sender.close();
    // Published through the admin API, which draws from a budget of its own.
    for (let n = 0; n < 24; n++) {
      await http(suite.server.httpUrl, 'POST', '/admin/rooms/big/messages', { token: token('root'), body: { text: 'x'.repeat(4000) } });
    }
    expect((await get('reader', '/rooms/big/messages?limit=100')).status).toBe(200);
    expect((await get('reader', '/rooms/big/messages?limit=1')).status).toBe(429);
  });
});
