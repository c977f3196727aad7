import { createServer, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { MessageView } from '../src/protocol/wire.js';
import { SwitchboardClient, type ClientOptions, type StateChange } from './switchboard-client.js';
import type { WebSocketLike } from './transport.js';

/** A socket the test drives: it opens, answers and drops when told to, and keeps what the client sent. */
class FakeSocket implements WebSocketLike {
  static made: FakeSocket[] = [];
  readyState = 0;
  readonly sent: Array<{ event: string; id?: string; data: Record<string, unknown> }> = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: { message?: string }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }

  static last(): FakeSocket {
    return FakeSocket.made[FakeSocket.made.length - 1];
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    setTimeout(() => this.drop(code, reason), 0);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  push(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The last frame of this event the client sent. */
  lastSent(event: string) {
    return this.sent.filter((frame) => frame.event === event).at(-1)!;
  }

  /** Answers the last frame of this event the client sent. */
  reply(event: string, data: object): void {
    this.push({ event, id: this.lastSent(event).id, data });
  }
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
/** A token whose payload says it never expires (the client reads `exp`; the fake server checks nothing). */
const tokenExpiringAt = (exp: number) => `x.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.y`;
const message = (room: string, seq: number) => ({
  event: 'message',
  data: { room, seq, messageId: `m${seq}`, clientMsgId: `c${seq}`, sender: { id: 'u', name: 'U' }, text: `t${seq}`, sentAt: '2026-12-07T00:00:00.000Z' },
});

const clients: SwitchboardClient[] = [];
beforeEach(() => (FakeSocket.made = []));
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

function client(options: Partial<ClientOptions> = {}): SwitchboardClient {
  const made = new SwitchboardClient({
    url: 'ws://switchboard.test/ws',
    token: tokenExpiringAt(9_999_999_999),
    auth: 'query',
    WebSocket: FakeSocket as never,
    heartbeatIntervalMs: 0,
    reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0 },
    ...options,
  });
  clients.push(made);
  return made;
}

/** A client with its first socket open. */
async function connected(options: Partial<ClientOptions> = {}): Promise<{ client: SwitchboardClient; socket: FakeSocket }> {
  const made = client(options);
  const connecting = made.connect();
  await tick();
  const socket = FakeSocket.last();
  socket.open();
  await connecting;
  return { client: made, socket };
}

describe('SwitchboardClient', () => {
  it('gives up on an upgrade that is never answered and tries again, without an uncaught error', async () => {
    const sockets: Socket[] = [];
    // Takes the TCP connection, never answers the HTTP upgrade.
    const server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const made = client({ url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/ws`, WebSocket: WebSocket as never, requestTimeoutMs: 200 });
      const states: StateChange[] = [];
      made.on('state', (change) => states.push(change));
      void made.connect().catch(() => undefined);
      await tick(500);
      expect(states.some((change) => change.state === 'connecting' && change.attempt >= 1)).toBe(true);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  it('stays closed when a state listener closes it on a close code it should not reconnect after', async () => {
    const { client: made, socket } = await connected();
    made.on('state', (change) => {
      if (change.state === 'reconnecting' && change.closeCode === 1008) void made.close();
    });
    socket.drop(1008, 'too many sockets');
    await tick(50);
    expect({ sockets: FakeSocket.made.length, state: made.state }).toEqual({ sockets: 1, state: 'closed' });
  });

  it('resolves the connect() a closed listener makes once the client is open again', async () => {
    const { client: made, socket } = await connected();
    let again: Promise<void> | undefined;
    made.on('state', (change) => {
      if (change.state === 'closed' && change.closeCode === 4003) again = made.connect();
    });
    socket.drop(4003, 'disconnected by an administrator');
    await tick();
    FakeSocket.last().open();
    await expect(again).resolves.toBeUndefined();
    expect(made.state).toBe('open');
  });

  it('joins a room it is in again with the explicit since asked for, and passes on the replay from there', async () => {
    const { client: made, socket } = await connected();
    const seen: number[] = [];
    made.on('message', (pushed: MessageView) => seen.push(pushed.seq));
    const first = made.join('r');
    socket.reply('room.join', { room: 'r', lastSeq: 10 });
    await first;
    const again = made.join('r', { since: 8 });
    expect(socket.lastSent('room.join').data).toEqual({ room: 'r', since: 8 });
    socket.reply('room.join', { room: 'r', lastSeq: 10 });
    await again;
    for (const seq of [9, 10, 11]) socket.push(message('r', seq));
    expect(seen).toEqual([9, 10, 11]);
  });

  it('passes on the live messages a join with an explicit since held back, when that join fails', async () => {
    const { client: made, socket } = await connected({ maxFramesPerSecond: 1 });
    const seen: number[] = [];
    made.on('message', (pushed: MessageView) => seen.push(pushed.seq));
    const first = made.join('r');
    socket.reply('room.join', { room: 'r', lastSeq: 10 });
    await first;
    // The pacer's burst of two is spent: the next join waits for its turn, and times out first.
    void made.ping().catch(() => undefined);
    const replay = made.join('r', { since: 2, timeoutMs: 100 });
    socket.push(message('r', 11));
    await expect(replay).rejects.toMatchObject({ code: 'TIMEOUT' });
    socket.push(message('r', 12));
    expect(seen).toEqual([11, 12]);
  });

  it('joins a room it still wants again when a join of it is answered CONFLICT (taken out while joining)', async () => {
    const { client: made, socket } = await connected();
    const first = made.join('r');
    socket.reply('room.join', { room: 'r', lastSeq: 3 });
    await first;
    const again = made.join('r');
    socket.push({ event: 'error', id: socket.lastSent('room.join').id, data: { code: 'CONFLICT', message: 'room r was left while the join was in progress; join again', event: 'room.join' } });
    await expect(again).rejects.toMatchObject({ code: 'CONFLICT' });
    await tick(50);
    expect(socket.sent.filter((frame) => frame.event === 'room.join').map((frame) => frame.data)).toEqual([{ room: 'r' }, { room: 'r', since: 3 }, { room: 'r', since: 3 }]);
  });

  it('does not send again, after a leave, a join that was answered UNAVAILABLE; the join rejects', async () => {
    const { client: made, socket } = await connected();
    const joining = made.join('r').then(
      () => 'joined',
      (error: { code: string }) => error.code,
    );
    socket.push({ event: 'error', id: socket.lastSent('room.join').id, data: { code: 'UNAVAILABLE', message: 'storage is down', event: 'room.join' } });
    const left = made.leave('r');
    socket.reply('room.leave', { room: 'r' });
    await left;
    await tick(50);
    expect(socket.sent.map((frame) => frame.event)).toEqual(['room.join', 'room.leave']);
    expect(await joining).toBe('CONFLICT');
  });

  it('does not send on the next connection a token refresh whose getToken answered after its socket closed', async () => {
    // The first token lives 3 to 4 s: refreshed halfway, about 2 s from now.
    const exp = Math.floor(Date.now() / 1000) + 3;
    let calls = 0;
    let answerLate!: () => void;
    const { socket } = await connected({
      token: undefined,
      requestTimeoutMs: 0,
      getToken: () => {
        calls++;
        // The refresh's call: slow, and its token older than the next connection's.
        if (calls === 2) return new Promise<string>((resolve) => (answerLate = () => resolve(tokenExpiringAt(exp - 1))));
        return tokenExpiringAt(exp + calls);
      },
    });
    for (let waited = 0; calls < 2 && waited < 10_000; waited += 50) await tick(50);
    expect(calls).toBe(2);
    socket.drop(1006);
    await tick(30);
    FakeSocket.last().open();
    answerLate();
    await tick(10);
    expect(FakeSocket.last().sent.filter((frame) => frame.event === 'auth.refresh')).toEqual([]);
  });
});
