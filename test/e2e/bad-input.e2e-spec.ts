import { describeEachDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { suiteServer } from '../support/suite-server.js';
import { token } from '../support/tokens.js';

describeEachDatabase('bad input', (kind) => {
  // 200 malformed frames in a row are more than the default burst allows.
  const suite = suiteServer(kind, { WS_RATE_LIMIT_BURST: '1000' });
  const connect = (sub: string) => suite.connect(sub);

  it('answers each malformed frame with BAD_REQUEST on the same socket, then serves a good one', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await bob.ok('room.join', { room: 'calm' });
    const malformed: Array<[string | Buffer, boolean]> = [
      ['not json', false],
      ['{"event": "message.send", "data": ', false],
      ['[1,2,3]', false],
      ['42', false],
      ['"a string"', false],
      ['null', false],
      ['{}', false],
      ['{"event": 12}', false],
      ['{"event": ""}', false],
      ['{"event": "no.such.event"}', false],
      ['{"event": "message.send", "data": "text"}', false],
      ['{"event": "message.send", "data": [1]}', false],
      ['{"event": "ping", "id": 7}', false],
      [`{"event": "ping", "id": "${'x'.repeat(200)}"}`, false],
      [Buffer.from([0xde, 0xad, 0xbe, 0xef]), true],
      ['{"event": "message.send", "data": {"room": "calm", "text": 5, "clientMsgId": "x"}}', false],
      ['{"event": "room.join", "data": {"room": "bad room!"}}', false],
      ['{"event": "history.fetch", "data": {"room": "calm", "limit": "10"}}', false],
    ];
    const rounds = Math.ceil(200 / malformed.length);
    let sent = 0;
    for (let round = 0; round < rounds && sent < 200; round++) {
      for (const [payload, binary] of malformed) {
        if (sent++ >= 200) break;
        alice.sendRaw(payload, binary);
      }
    }
    const ack = await alice.ok('message.send', { room: 'calm', text: 'still fine', clientMsgId: 'ok-1' });
    expect(ack.seq).toBe(1);
    const errors = alice.frames.filter((f) => f.event === 'error');
    expect(errors).toHaveLength(200);
    expect(errors.every((f) => f.data.code === 'BAD_REQUEST' && typeof f.data.message === 'string')).toBe(true);
    expect((await bob.nextPush('message', 'calm')).data.text).toBe('still fine');
    expect(bob.frames.filter((f) => f.event === 'error')).toHaveLength(0);
  });

  it('lists each failed field and constraint, echoes the id and the event, and never coerces types', async () => {
    const alice = await connect('alice');
    const frame = await alice.request('message.send', { room: 'bad room', text: '', clientMsgId: 7 });
    expect(frame.event).toBe('error');
    expect(frame.data.code).toBe('BAD_REQUEST');
    expect(frame.data.event).toBe('message.send');
    expect(frame.data.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'room', constraint: 'roomName' }),
        expect.objectContaining({ field: 'text', constraint: 'text' }),
        expect.objectContaining({ field: 'clientMsgId', constraint: 'text' }),
      ]),
    );
    // A value of the wrong type fails on its type alone: "0" is neither too big nor negative.
    const seqAsString = await alice.error('message.edit', { room: 'ok', seq: '1', text: 'x' });
    expect(seqAsString.details).toEqual([{ field: 'seq', constraint: 'isInt', message: 'seq must be an integer number' }]);
    const sinceAsString = await alice.error('room.join', { room: 'ok', since: '0' });
    expect([sinceAsString.message, sinceAsString.details]).toEqual(['since must be an integer number', [expect.objectContaining({ field: 'since', constraint: 'isInt' })]]);
    const noContent = await alice.error('message.send', { room: 'ok', clientMsgId: 'c' });
    expect(noContent.details).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'text', message: 'a message has text, payload or both' })]));
    const arrayPayload = await alice.error('message.send', { room: 'ok', payload: [1, 2], clientMsgId: 'c' });
    expect(arrayPayload.details).toEqual([expect.objectContaining({ field: 'payload', constraint: 'payload' })]);
    const limit = await alice.error('history.fetch', { room: 'ok', limit: 101 });
    expect(limit.details).toEqual([expect.objectContaining({ field: 'limit', constraint: 'max' })]);
  });

  it('refuses null where a value may only be absent, and NUL characters, for every sender alike', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await bob.ok('room.join', { room: 'nulls' });
    expect((await alice.error('message.send', { room: 'nulls', payload: null, clientMsgId: 'n1' })).code).toBe('BAD_REQUEST');
    expect((await alice.error('message.send', { room: 'nulls', text: null, payload: { a: 1 }, clientMsgId: 'n2' })).code).toBe('BAD_REQUEST');
    expect((await alice.error('history.fetch', { room: 'nulls', before: null })).code).toBe('BAD_REQUEST');
    expect((await alice.error('room.join', { room: 'nulls', since: null })).code).toBe('BAD_REQUEST');
    // PostgreSQL cannot store NUL: refused up front, and other senders' messages in the same batch are unharmed.
    const results = await Promise.all([
      alice.request('message.send', { room: 'nulls', text: 'good', clientMsgId: 'g1' }),
      alice.request('message.send', { room: 'nulls', text: 'bad\u0000text', clientMsgId: 'g2' }),
      alice.request('message.send', { room: 'nulls', text: 'ok', clientMsgId: 'bad\u0000id' }),
      bob.request('message.send', { room: 'nulls', text: 'bob', clientMsgId: 'b1' }),
    ]);
    expect(results.map((f) => f.event === 'error' ? f.data.code : 'ok')).toEqual(['ok', 'BAD_REQUEST', 'BAD_REQUEST', 'ok']);
    expect((await alice.ok('message.send', { room: 'nulls', payload: { note: 'nul \u0000 inside JSON is fine' }, clientMsgId: 'g3' })).seq).toBe(3);
  });

  it('refuses data nested too deeply with BAD_REQUEST, whatever the event', async () => {
    const alice = await connect('alice');
    // Built as text: JSON.stringify itself cannot go this deep.
    const deep = `{"event":"message.send","id":"deep","data":{"room":"deep","clientMsgId":"d1","payload":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}`;
    alice.sendRaw(deep);
    const refused = (await alice.next((f) => f.id === 'deep')).data;
    expect(refused).toMatchObject({ code: 'BAD_REQUEST', details: [{ field: 'payload', constraint: 'nesting', message: expect.any(String) }] });
    let fine: unknown = 'bottom';
    for (let level = 0; level < 30; level++) fine = { deeper: fine };
    expect((await alice.ok('message.send', { room: 'deep', payload: fine as object, clientMsgId: 'd2' })).seq).toBe(1);
    alice.sendRaw(`{"event":"history.fetch","id":"arr","data":{"room":"deep","limit":${'['.repeat(3000)}${']'.repeat(3000)}}}`);
    expect((await alice.next((f) => f.id === 'arr')).data.code).toBe('BAD_REQUEST');
  });

  it('counts lengths in code points and enforces the payload size', async () => {
    const alice = await connect('alice');
    const emoji = '😀'; // two UTF-16 units, one code point
    expect((await alice.ok('message.send', { room: 'sizes', text: emoji.repeat(4000), clientMsgId: 'e' })).seq).toBe(1);
    expect((await alice.error('message.send', { room: 'sizes', text: emoji.repeat(4001), clientMsgId: 'f' })).code).toBe('BAD_REQUEST');
    expect((await alice.ok('message.send', { room: 'sizes', text: 'x', clientMsgId: emoji.repeat(64) })).seq).toBe(2);
    const big = { blob: 'x'.repeat(16 * 1024) };
    expect((await alice.error('message.send', { room: 'sizes', payload: big, clientMsgId: 'g' })).details?.[0]?.field).toBe('payload');
    const fits = { blob: 'x'.repeat(16 * 1024 - 20) };
    expect((await alice.ok('message.send', { room: 'sizes', payload: fits, clientMsgId: 'h' })).seq).toBe(3);
    expect((await alice.ok('room.join', { room: 'a'.repeat(128) })).lastSeq).toBe(0);
    expect((await alice.error('room.join', { room: 'a'.repeat(129) })).code).toBe('BAD_REQUEST');
    expect((await alice.error('room.join', { room: 'é' })).code).toBe('BAD_REQUEST');
  });

  it('answers NOT_FOUND for rooms and messages that do not exist, without creating them', async () => {
    const alice = await connect('alice');
    expect((await alice.error('history.fetch', { room: 'never-used' })).code).toBe('NOT_FOUND');
    expect((await alice.error('presence.list', { room: 'never-used' })).code).toBe('NOT_FOUND');
    expect((await alice.error('message.edit', { room: 'never-used', seq: 1, text: 'x' })).code).toBe('NOT_FOUND');
    expect((await alice.error('message.delete', { room: 'never-used', seq: 1 })).code).toBe('NOT_FOUND');
    expect((await alice.error('typing', { room: 'never-used' })).code).toBe('NOT_FOUND');
    const rooms = await http(suite.server.httpUrl, 'GET', '/admin/rooms', { token: token('root') });
    expect(rooms.body.rooms.map((r: { name: string }) => r.name)).not.toContain('never-used');
  });

  it('answers UNAUTHORIZED and FORBIDDEN for auth.refresh with a bad or foreign token', async () => {
    const alice = await connect('alice');
    expect((await alice.error('auth.refresh', { token: 'garbage' })).code).toBe('UNAUTHORIZED');
    expect((await alice.error('auth.refresh', { token: token('alice', { expiresIn: -10 }) })).code).toBe('UNAUTHORIZED');
    expect((await alice.error('auth.refresh', { token: token('mallory') })).code).toBe('FORBIDDEN');
    expect((await alice.error('auth.refresh', { token: token('alice', { tid: 'other' }) })).code).toBe('FORBIDDEN');
    expect((await alice.error('auth', { token: token('alice') })).code).toBe('BAD_REQUEST');
    expect((await alice.ok('ping')).time).toEqual(expect.any(Number));
  });
});
