import WebSocket from 'ws';
import { floodRoom } from '../support/firehose.js';
import { http } from '../support/http.js';
import { suiteServer } from '../support/suite-server.js';
import { rejectedUpgrade, TestClient } from '../support/test-client.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

// Limits are about sockets, not storage: these suites run on SQLite only.

describe('frame size', () => {
  const suite = suiteServer('sqlite', { WS_MAX_PAYLOAD_BYTES: '4096' });

  it('closes a socket that sends a frame over WS_MAX_PAYLOAD_BYTES with 1009, and nobody else', async () => {
    const big = await suite.connect('alice');
    const other = await suite.connect('bob');
    big.sendRaw(JSON.stringify({ event: 'ping', data: { pad: 'x'.repeat(5000) } }));
    expect((await big.closed).code).toBe(1009);
    expect((await other.request('ping')).event).toBe('pong');
    const fits = await suite.connect('alice');
    expect((await fits.ok('message.send', { room: 'r', text: 'x'.repeat(3900), clientMsgId: 'c' })).seq).toBe(1);
  });

  it('answers a bad frame that arrived in the same read as an oversized one before closing with 1009', async () => {
    const client = await suite.connect('alice');
    // Corked: both frames leave in one write, so that the server reads them together and ws closes in that read.
    const tcp = (client.socket as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    tcp.cork();
    client.sendRaw(JSON.stringify({ event: 'no.such.event', id: 'bad-1' }));
    client.sendRaw(JSON.stringify({ event: 'ping', data: { pad: 'x'.repeat(5000) } }));
    tcp.uncork();
    expect((await client.closed).code).toBe(1009);
    expect(client.frames).toEqual([
      { event: 'error', id: 'bad-1', data: expect.objectContaining({ code: 'BAD_REQUEST', event: 'no.such.event' }) },
    ]);
  });
});

describe('frame rate', () => {
  // One token a second: the counts below hold however slow the machine running the test is.
  const suite = suiteServer('sqlite', { WS_RATE_LIMIT_PER_SECOND: '1', WS_RATE_LIMIT_BURST: '20', WS_FLOOD_CLOSE_AFTER_MS: '600000' });

  it('answers frames beyond the burst with RATE_LIMITED (with their id), unprocessed, and serves again once the bucket refills', async () => {
    const client = await suite.connect('alice');
    for (let n = 0; n < 30; n++) client.sendRaw(JSON.stringify({ event: 'ping', id: `p${n}` }));
    await waitUntil(() => client.frames.length >= 30);
    const pongs = client.frames.filter((f) => f.event === 'pong');
    const limited = client.frames.filter((f) => f.event === 'error' && f.data.code === 'RATE_LIMITED');
    expect(pongs.length).toBeGreaterThanOrEqual(20);
    expect(pongs.length + limited.length).toBe(30);
    expect(limited.length).toBeGreaterThanOrEqual(8);
    expect(limited.every((f) => f.id?.startsWith('p') && f.data.event === 'ping')).toBe(true);
    // Bad frames count too.
    client.sendRaw('garbage');
    expect((await client.next((f) => f.event === 'error' && f.id === undefined)).data.code).toBe('RATE_LIMITED');
    await client.settle(1100);
    expect((await client.request('ping')).event).toBe('pong');
  });
});

describe('flooding', () => {
  const suite = suiteServer('sqlite', { WS_RATE_LIMIT_PER_SECOND: '10', WS_RATE_LIMIT_BURST: '20', WS_FLOOD_CLOSE_AFTER_MS: '1000' });

  it('closes a socket that keeps flooding with 4008; a well-behaved neighbour is served throughout', async () => {
    const flooder = await suite.connect('mallory');
    const neighbour = await suite.connect('alice');
    const flood = setInterval(() => {
      if (flooder.socket.readyState === WebSocket.OPEN) for (let n = 0; n < 20; n++) flooder.sendRaw('{"event":"ping"}');
    }, 10);
    try {
      for (let n = 0; n < 5; n++) {
        expect((await neighbour.request('ping')).event).toBe('pong');
        await neighbour.settle(150);
      }
      expect(await flooder.closed).toEqual({ code: 4008, reason: 'too many frames for too long' });
    } finally {
      clearInterval(flood);
    }
    expect((await neighbour.request('ping')).event).toBe('pong');
  });

  it('counts WebSocket pings too: a socket that floods with control frames is closed with 4008', async () => {
    const flooder = await suite.connect('pinger');
    const flood = setInterval(() => {
      if (flooder.socket.readyState === WebSocket.OPEN) for (let n = 0; n < 20; n++) flooder.socket.ping();
    }, 10);
    try {
      expect(await flooder.closed).toEqual({ code: 4008, reason: 'too many frames for too long' });
    } finally {
      clearInterval(flood);
    }
  });
});

describe('a socket being closed', () => {
  const suite = suiteServer('sqlite');

  it('does not process the frames of a client that ignores the close frame (an admin disconnect, 4003)', async () => {
    const bob = await suite.connect('bob');
    await bob.ok('room.join', { room: 'after-close' });
    const eve = await suite.connect('eve');
    // Eve's client reads nothing more: it never sees the close frame, and keeps sending.
    eve.pauseReading();
    expect((await http(suite.server.httpUrl, 'POST', '/admin/users/eve/disconnect', { token: token('root') })).status).toBe(200);
    await bob.settle(300);
    eve.sendRaw(JSON.stringify({ event: 'message.send', id: 'late', data: { room: 'after-close', text: 'after my disconnect', clientMsgId: 'late-1' } }));
    await bob.settle(500);
    eve.socket.terminate();
    expect(bob.pushes('message', 'after-close')).toEqual([]);
    expect((await bob.ok('history.fetch', { room: 'after-close' })).messages).toEqual([]);
  });
});

describe('caps on rooms and sockets', () => {
  const suite = suiteServer('sqlite', { WS_MAX_ROOMS_PER_SOCKET: '3', WS_MAX_SOCKETS_PER_USER: '2' });

  it('refuses a join beyond WS_MAX_ROOMS_PER_SOCKET with RATE_LIMITED, until the socket leaves a room', async () => {
    const client = await suite.connect('alice');
    for (const room of ['a', 'b', 'c']) await client.ok('room.join', { room });
    const refused = await client.error('room.join', { room: 'd' });
    expect(refused.code).toBe('RATE_LIMITED');
    expect(refused.message).toContain('3 rooms');
    expect((await client.ok('room.join', { room: 'a', since: 0 })).room).toBe('a');
    await client.ok('room.leave', { room: 'b' });
    expect((await client.ok('room.join', { room: 'd' })).room).toBe('d');
  });

  it('refuses an upgrade beyond WS_MAX_SOCKETS_PER_USER with HTTP 429', async () => {
    const first = await suite.connect('bob');
    await suite.connect('bob');
    const refused = await rejectedUpgrade(suite.server.wsUrl, { token: token('bob') });
    expect(refused.status).toBe(429);
    expect(refused.body).toContain('2 sockets');
    expect((await suite.connect('carol')).socket.readyState).toBe(WebSocket.OPEN);
    await first.close();
    // The server forgets the socket when its close arrives, right after the client's.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await suite.connect('bob')).socket.readyState).toBe(WebSocket.OPEN);
  });
});

describe('heartbeats', () => {
  const suite = suiteServer('sqlite', { WS_PING_INTERVAL_MS: '150' });

  it('terminates a socket that stops answering pings, and drops its presence', async () => {
    const watcher = await suite.connect('watcher');
    await watcher.ok('room.join', { room: 'lobby' });
    const silent = await TestClient.connect(suite.server.wsUrl, { token: token('ghost'), autoPong: false });
    await silent.ok('room.join', { room: 'lobby' });
    await watcher.nextPush('presence.join', 'lobby');
    const started = Date.now();
    expect((await silent.closed).code).toBe(1006);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await watcher.nextPush('presence.leave', 'lobby')).data.user.id).toBe('ghost');
    // The watcher answers its pings and stays.
    await watcher.settle(600);
    expect((await watcher.request('ping')).event).toBe('pong');
  });
});

describe('slow consumers', () => {
  const suite = suiteServer('sqlite', { WS_MAX_BUFFERED_BYTES: '131072', WS_RATE_LIMIT_PER_SECOND: '100000', WS_RATE_LIMIT_BURST: '100000' });
  const bulky = { blob: 'x'.repeat(15_000) };

  it('closes a socket that stops reading with 4009 instead of buffering for it', async () => {
    const stalled = await suite.connect('slow');
    await stalled.ok('room.join', { room: 'firehose' });
    stalled.pauseReading();
    const reader = await floodRoom(suite, 'firehose');
    stalled.resumeReading();
    expect((await stalled.closed).code).toBe(4009);
    expect(reader.pushes('message', 'firehose').map((f) => f.data.seq)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
  });

  it('does not take a big history page, read normally, for a slow consumer', async () => {
    for (let n = 0; n < 100; n++) {
      await http(suite.server.httpUrl, 'POST', '/admin/rooms/big-pages/messages', { token: token('root'), body: { payload: bulky, clientMsgId: `b${n}` } });
    }
    const reader = await suite.connect('pager');
    const page = await reader.ok('history.fetch', { room: 'big-pages', limit: 100 });
    expect(page.messages).toHaveLength(100);
    await reader.settle(1500);
    expect(reader.socket.readyState).toBe(WebSocket.OPEN);
    expect((await reader.request('ping')).event).toBe('pong');
  });

  it('paces a long replay to the reader instead of overflowing its buffer', async () => {
    for (let n = 0; n < 300; n++) {
      await http(suite.server.httpUrl, 'POST', '/admin/rooms/archive-heavy/messages', { token: token('root'), body: { payload: bulky, clientMsgId: `h${n}` } });
    }
    const resuming = await suite.connect('resumer');
    await resuming.ok('room.join', { room: 'archive-heavy', since: 0 });
    await waitUntil(() => resuming.pushes('message', 'archive-heavy').length === 300, 20_000);
    expect(resuming.pushes('message', 'archive-heavy').map((f) => f.data.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect((await resuming.request('ping')).event).toBe('pong');
  });
});
