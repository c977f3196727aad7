import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { AuthorizationService } from '../authorization/authorization.service.js';
import { LocalBroker } from '../broker/local-broker.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { RealtimeError } from '../protocol/error-codes.js';
import type { HistoryEntry } from '../protocol/wire.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { roomKey } from '../rooms/room-key.js';
import type { RoomRecord, RoomsService } from '../rooms/rooms.service.js';
import { Connection } from './connection.js';
import type { ConnectionRegistry } from './connection-registry.service.js';
import { DeliveryService } from './delivery.service.js';
import type { Transport } from './transport.js';

/** An open transport that keeps the frames sent to it. */
class RecordingTransport implements Transport {
  isOpen = true;
  bufferedAmount = 0;
  readonly frames: Array<{ event: string; id?: string; data: { room?: string; seq?: number; reason?: string; code?: string } }> = [];
  send(frame: string): void {
    this.frames.push(JSON.parse(frame));
  }
  closedWith: number | undefined;
  close(code: number): void {
    this.closedWith = code;
  }
  terminate(): void {}
  ping(): void {}
  attach(): void {}
  onClose(): void {}
}

const user: AuthenticatedUser = { id: 'ann', tenantId: 'acme', name: 'Ann', expiresAt: Number.MAX_SAFE_INTEGER };
const room: RoomRecord = { id: 1, tenantId: 'acme', name: 'ops', key: roomKey('acme', 'ops'), archived: false };

/** The single-node broker, told when it is back in touch with the other nodes (as RedisBroker is after an outage). */
class BackInTouchBroker extends LocalBroker {
  backInTouch(): void {
    this.dispatchReconnect();
  }
}

function setup({
  audit = {},
  connections = [],
  rooms: roomsGiven = {},
  authorization: authorizationGiven = {},
  stored = [],
  maxRoomsPerSocket = 10,
}: {
  audit?: Partial<AuditService>;
  connections?: Connection[];
  rooms?: Partial<RoomsService>;
  authorization?: Partial<AuthorizationService>;
  /** The room's stored messages, or how they are read. */
  stored?: HistoryEntry[] | MessagesService['after'];
  maxRoomsPerSocket?: number;
} = {}) {
  const broker = new BackInTouchBroker();
  let allowJoin: () => void = () => undefined;
  const authorization = {
    onPermissionsChanged: () => undefined,
    // The user's permissions are being loaded: the join waits for the test to let it go on.
    assertAny: () => new Promise<void>((resolve) => (allowJoin = resolve)),
    ...authorizationGiven,
  };
  const rooms = { open: () => room, lastSeq: async () => 0, ...roomsGiven };
  const after: MessagesService['after'] =
    typeof stored === 'function' ? stored : async (_room, since, limit) => stored.filter((entry) => entry.seq > since).slice(0, limit);
  const registry = {
    all: connections,
    ofUser: (tenantId: string, userId: string) => connections.filter((c) => c.user?.tenantId === tenantId && c.user.id === userId),
    authenticatedIn: () => [],
    remove: () => undefined,
  };
  const metrics = { frameOut: () => undefined, delivered: () => undefined };
  const delivery = new DeliveryService(
    broker,
    rooms as unknown as RoomsService,
    { after } as unknown as MessagesService,
    authorization as unknown as AuthorizationService,
    registry as unknown as ConnectionRegistry,
    audit as AuditService,
    { websocket: { maxRoomsPerSocket } } as ResolvedRealtimeOptions,
    metrics as unknown as RealtimeMetrics,
  );
  const transport = new RecordingTransport();
  const connection = new Connection('c1', transport, user, 1 << 20);
  /** A message of `ops` stored now, as the broker brings it. */
  const live = (seq: number) => broker.publishRoomEvent({ roomKey: room.key, event: 'message', data: { room: 'ops', seq }, seq });
  const seqs = () => transport.frames.filter((frame) => frame.event === 'message').map((frame) => frame.data.seq);
  return { broker, delivery, transport, connection, allowJoin: () => allowJoin(), live, seqs };
}

/** Joins and runs what follows the reply (the replay), as the gateway does. */
async function joined(delivery: DeliveryService, connection: Connection, roomName: string, since?: number, requestId?: string, arrival?: number) {
  const { afterReply } = await delivery.join(connection, roomName, since, requestId, arrival);
  await afterReply();
}

/** Stored messages 1..count, as a replay reads them (deleted ones are the smallest to write down). */
const storedUpTo = (count: number): HistoryEntry[] => Array.from({ length: count }, (_, i) => ({ room: 'ops', seq: i + 1, deleted: true }));
const noWait = { assertAny: async () => undefined };

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('DeliveryService.join', () => {
  it('answers NOT_FOUND, not a reply, when the room is archived while the join waits', async () => {
    const { broker, delivery, transport, connection, allowJoin } = setup();
    const joining = delivery.join(connection, 'ops', undefined);
    await settled();
    await broker.publishControl({ type: 'room.changed', roomKey: room.key, archived: true });
    allowJoin();
    await expect(joining).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(transport.frames).toEqual([{ event: 'room.removed', data: { room: 'ops', reason: 'archived' } }]);
    expect(connection.membershipCount).toBe(0);
  });

  it('replies with the room and its last seq when nothing happens meanwhile', async () => {
    const { delivery, connection, allowJoin } = setup();
    const joining = delivery.join(connection, 'ops', undefined);
    await settled();
    allowJoin();
    expect((await joining).reply).toEqual({ room: 'ops', lastSeq: 0 });
    expect(connection.membershipCount).toBe(1);
  });

  it('keeps sending to a socket already in the room what arrives while its join without since waits', async () => {
    const { delivery, connection, allowJoin, live, seqs } = setup({ rooms: { lastSeq: async () => 2 } });
    const first = delivery.join(connection, 'ops', undefined);
    await settled();
    allowJoin();
    await (await first).afterReply();
    live(3);
    const again = delivery.join(connection, 'ops', undefined);
    await settled();
    live(4);
    live(5);
    allowJoin();
    const { reply, afterReply } = await again;
    await afterReply();
    live(6);
    expect(reply).toEqual({ room: 'ops', lastSeq: 5 });
    expect(seqs()).toEqual([3, 4, 5, 6]);
  });

  it('lets the replay of an earlier join with since run to its end when the socket joins again without since', async () => {
    const { delivery, connection, live, seqs } = setup({ authorization: noWait, stored: storedUpTo(250), rooms: { lastSeq: async () => 250 } });
    const first = await delivery.join(connection, 'ops', 0, 'j1', 1);
    const replaying = first.afterReply();
    // The first page is out.
    await settled();
    const second = await delivery.join(connection, 'ops', undefined, 'j2', 2);
    await Promise.all([replaying, second.afterReply()]);
    live(251);
    expect(seqs()).toEqual(Array.from({ length: 251 }, (_, i) => i + 1));
  });

  it('paces a replay of large messages to what the socket writes out, within a page too', async () => {
    const large = storedUpTo(150).map((entry) => ({ ...entry, deleted: undefined, text: 'x'.repeat(20_000) }) as unknown as HistoryEntry);
    const { delivery, transport, connection } = setup({ authorization: noWait, stored: large, rooms: { lastSeq: async () => 150 } });
    // The transport counts what it was given as unsent; a reader takes 100 KB every few milliseconds.
    let mostUnsent = 0;
    const send = transport.send.bind(transport);
    transport.send = (frame: string) => {
      send(frame);
      transport.bufferedAmount += frame.length;
      mostUnsent = Math.max(mostUnsent, transport.bufferedAmount);
    };
    const reader = setInterval(() => (transport.bufferedAmount = Math.max(0, transport.bufferedAmount - 100_000)), 3);
    try {
      await joined(delivery, connection, 'ops', 0);
    } finally {
      clearInterval(reader);
    }
    expect(transport.frames.filter((frame) => frame.event === 'message')).toHaveLength(150);
    // Never more than the pause threshold (64 KiB) and one message unsent: a whole page would be 2 MB.
    expect(mostUnsent).toBeLessThan(65_536 + 20_100);
    expect(transport.closedWith).toBeUndefined();
  });

  it('holds no page a slow socket has not taken while it drains: reads again from the last message sent, as many as went out', async () => {
    const large = storedUpTo(300).map((entry) => ({ ...entry, deleted: undefined, text: 'x'.repeat(20_000) }) as unknown as HistoryEntry);
    const reads: Array<{ since: number; limit: number; lastSent: number }> = [];
    let lastSent = 0;
    const stored: MessagesService['after'] = async (_room, since, limit) => {
      reads.push({ since, limit, lastSent });
      return large.filter((entry) => entry.seq > since).slice(0, limit);
    };
    const { delivery, transport, connection } = setup({ authorization: noWait, stored, rooms: { lastSeq: async () => 300 } });
    const send = transport.send.bind(transport);
    transport.send = (frame: string) => {
      send(frame);
      transport.bufferedAmount += frame.length;
      lastSent = (JSON.parse(frame) as { data: { seq: number } }).data.seq;
    };
    const reader = setInterval(() => (transport.bufferedAmount = Math.max(0, transport.bufferedAmount - 100_000)), 3);
    try {
      await joined(delivery, connection, 'ops', 0);
    } finally {
      clearInterval(reader);
    }
    expect(transport.frames.filter((frame) => frame.event === 'message').map((frame) => frame.data.seq)).toEqual(large.map((entry) => entry.seq));
    // Each read starts after the last message sent; what an earlier read brought and the socket did not take was let go.
    for (const read of reads) expect(read.since).toBe(read.lastSent);
    // After the first, reads are as large as what went out between two waits (4 messages of 20 KB over a 64 KiB pause),
    // and do not grow while the socket stays behind.
    expect(reads[0].limit).toBe(100);
    expect(Math.max(...reads.slice(1).map((read) => read.limit))).toBeLessThanOrEqual(4);
  });

  it('does not keep a replay waiting behind replays whose sockets read nothing', async () => {
    const { delivery, connection, seqs } = setup({ authorization: noWait, stored: storedUpTo(3), rooms: { lastSeq: async () => 3 } });
    // More stalled sockets than the node reads replay pages for at once (32), each with a full buffer.
    const stalled = Array.from({ length: 40 }, (_, i) => {
      const transport = new RecordingTransport();
      transport.bufferedAmount = 1 << 20;
      return { transport, connection: new Connection(`stalled-${i}`, transport, user, 1 << 21) };
    });
    const stalledReplays: Array<Promise<void>> = [];
    for (const socket of stalled) stalledReplays.push((await delivery.join(socket.connection, 'ops', 0)).afterReply());
    await joined(delivery, connection, 'ops', 0);
    expect(seqs()).toEqual([1, 2, 3]);
    for (const { transport } of stalled) transport.isOpen = false;
    await Promise.all(stalledReplays);
  });

  it('keeps to the rooms per socket when joins of one socket open their rooms at once', async () => {
    const { delivery, connection } = setup({
      authorization: noWait,
      maxRoomsPerSocket: 2,
      rooms: { open: async (_tenant, name) => ({ ...room, id: name.length, name, key: roomKey('acme', name) }) },
    });
    const results = await Promise.allSettled(['a', 'bb', 'ccc'].map((name) => delivery.join(connection, name, undefined)));
    expect(results.map((result) => (result.status === 'rejected' ? result.reason.code : 'joined'))).toEqual(['joined', 'joined', 'RATE_LIMITED']);
    expect(connection.membershipCount).toBe(2);
  });

  it('stops quietly the replay of a join a later one superseded when its read fails, and the later one goes on', async () => {
    let failFirstRead!: (error: Error) => void;
    let reads = 0;
    const { delivery, transport, connection, live, seqs } = setup({
      authorization: noWait,
      rooms: { lastSeq: async () => 5 },
      stored: (_room, since) =>
        ++reads === 1 ? new Promise((_resolve, reject) => (failFirstRead = reject)) : Promise.resolve(storedUpTo(5).filter((e) => e.seq > since)),
    });
    const first = await delivery.join(connection, 'ops', 0, 'j1', 1);
    const firstReplay = first.afterReply();
    await settled();
    const second = await delivery.join(connection, 'ops', 3, 'j2', 2);
    const secondReplay = second.afterReply();
    failFirstRead(new Error('storage is unavailable'));
    await Promise.all([firstReplay, secondReplay]);
    live(6);
    expect(transport.frames.filter((frame) => frame.event === 'error')).toEqual([]);
    expect(seqs()).toEqual([4, 5, 6]);
  });

  it('keeps the socket in the room a later join confirmed when an earlier join fails', async () => {
    let failRead!: (error: Error) => void;
    // The room's row is read for a `since` past what this node handed out (0 when its channel opened); that read fails.
    let reads = 0;
    const { delivery, connection, live, seqs } = setup({
      authorization: noWait,
      rooms: { lastSeq: () => (++reads === 1 ? Promise.resolve(0) : new Promise<number>((_resolve, reject) => (failRead = reject))) },
    });
    const first = delivery.join(connection, 'ops', 7, 'j1', 1);
    await settled();
    await joined(delivery, connection, 'ops', undefined, 'j2', 2);
    failRead(new Error('storage is unavailable'));
    await expect(first).rejects.toThrow('storage is unavailable');
    live(1);
    expect(connection.membershipCount).toBe(1);
    expect(seqs()).toEqual([1]);
  });

  it('takes the socket out of the room when every join of it fails, the earlier first or last', async () => {
    for (const earlierFailsFirst of [true, false]) {
      const failures: Array<(error: Error) => void> = [];
      let reads = 0;
      const { delivery, connection } = setup({
        authorization: noWait,
        rooms: { lastSeq: () => (++reads === 1 ? Promise.resolve(0) : new Promise<number>((_resolve, reject) => failures.push(reject))) },
      });
      const first = delivery.join(connection, 'ops', 7, 'j1', 1);
      const second = delivery.join(connection, 'ops', 8, 'j2', 2);
      await settled();
      expect(failures).toHaveLength(2);
      const order = earlierFailsFirst ? failures : [...failures].reverse();
      for (const fail of order) fail(new Error('storage is unavailable'));
      await expect(first).rejects.toThrow();
      await expect(second).rejects.toThrow();
      expect(connection.membershipCount).toBe(0);
    }
  });
});

describe('DeliveryService, back in touch with the other nodes', () => {
  const socketOf = (id: string, who: AuthenticatedUser | null) => {
    const transport = new RecordingTransport();
    return { transport, connection: new Connection(id, transport, who, 1 << 20) };
  };
  const bob: AuthenticatedUser = { ...user, id: 'bob', name: 'Bob' };
  // Retries wait a second: the clock is the test's; warnings are kept, not printed.
  let warned: ReturnType<typeof jest.spyOn>;
  beforeEach(() => {
    warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
  });
  afterEach(() => {
    jest.useRealTimers();
    warned.mockRestore();
  });

  it('closes with 4003 the sockets authenticated before a disconnect of their user it missed, and no others', async () => {
    const before = socketOf('before', user);
    const bobs = socketOf('bob', bob);
    const pending = socketOf('first-frame', null);
    jest.advanceTimersByTime(5);
    const after = socketOf('after', user);
    // Opened before the disconnect, authenticated (first-frame `auth`) after it.
    pending.connection.user = user;
    pending.connection.authenticatedAt = after.connection.authenticatedAt;
    const at = after.connection.authenticatedAt - 1;
    const asked: number[] = [];
    const audit = {
      latestByTarget: async (action: string, since: number) => {
        asked.push(since);
        expect(action).toBe('user.disconnect');
        // Another tenant's ann too.
        return [
          { tenantId: 'acme', target: 'user:ann', at },
          { tenantId: 'globex', target: 'user:ann', at: Date.now() },
        ];
      },
    };
    const { broker } = setup({ audit, connections: [before.connection, bobs.connection, pending.connection, after.connection] });
    broker.backInTouch();
    await settled();
    expect(asked).toEqual([before.connection.authenticatedAt]);
    const closes = [before, after, pending, bobs].map(({ transport }) => transport.closedWith);
    expect(closes).toEqual([4003, undefined, undefined, undefined]);
  });

  it('reads the audit log again, a second later, while it cannot be read', async () => {
    const socket = socketOf('s1', user);
    let reads = 0;
    const audit = {
      latestByTarget: async () => {
        if (++reads < 3) throw new Error('storage is unavailable');
        return [{ tenantId: 'acme', target: 'user:ann', at: Date.now() + 1 }];
      },
    };
    const { broker } = setup({ audit, connections: [socket.connection] });
    broker.backInTouch();
    await settled();
    expect([reads, socket.transport.closedWith]).toEqual([1, undefined]);
    expect(warned).toHaveBeenCalledWith('catching up with disconnects: storage is unavailable; reading again in 1000 ms');
    for (const expected of [2, 3]) {
      jest.advanceTimersByTime(1000);
      await settled();
      expect(reads).toBe(expected);
    }
    expect(socket.transport.closedWith).toBe(4003);
    // Once read, it is not read again; nor once the shutdown has stopped the retries.
    jest.advanceTimersByTime(5000);
    expect(reads).toBe(3);

    const failing = setup({ audit: { latestByTarget: async () => (reads++, Promise.reject(new Error('down'))) }, connections: [socket.connection] });
    failing.broker.backInTouch();
    await settled();
    failing.delivery.beforeApplicationShutdown();
    jest.advanceTimersByTime(5000);
    await settled();
    expect(reads).toBe(4);
  });

  /** A member of `ops` whose node comes back in touch, the room read with `find`. */
  async function memberBackInTouch(find: RoomsService['find']) {
    const joined = setup({ rooms: { find } });
    const joining = joined.delivery.join(joined.connection, 'ops', undefined);
    await settled();
    joined.allowJoin();
    await joining;
    joined.broker.backInTouch();
    await settled();
    return joined;
  }

  it('takes the members out of a room archived meanwhile, reading the room again while it cannot be read', async () => {
    let reads = 0;
    const { transport, connection } = await memberBackInTouch(async () => {
      if (++reads < 2) throw new Error('storage is unavailable');
      return { ...room, archived: true };
    });
    expect([reads, transport.frames]).toEqual([1, []]);
    expect(warned).toHaveBeenCalledWith('re-checking whether room ops was archived: storage is unavailable; reading again in 1000 ms');
    jest.advanceTimersByTime(1000);
    await settled();
    expect(reads).toBe(2);
    expect(transport.frames).toEqual([{ event: 'room.removed', data: { room: 'ops', reason: 'archived' } }]);
    expect(connection.membershipCount).toBe(0);
  });

  it('takes a member out of a room whose room.join was revoked, checking again while the permissions cannot be read', async () => {
    let reads = 0;
    const { transport, connection } = socketOf('s1', user);
    const { broker, delivery, live } = setup({
      connections: [connection],
      authorization: {
        assertAny: async () => undefined,
        can: async () => {
          if (++reads === 1) throw RealtimeError.unavailable('storage is unavailable; nothing was done');
          return false;
        },
      },
    });
    await joined(delivery, connection, 'ops');
    broker.backInTouch();
    await settled();
    expect(reads).toBe(1);
    expect(warned).toHaveBeenCalledWith('re-checking memberships: storage is unavailable; nothing was done; reading again in 1000 ms');
    jest.advanceTimersByTime(1000);
    await settled();
    live(1);
    expect([reads, transport.frames]).toEqual([2, [{ event: 'room.removed', data: { room: 'ops', reason: 'forbidden' } }]]);
    expect(connection.membershipCount).toBe(0);
  });

  it('retries the re-checks an outage failed once, together, however many times they were asked for', async () => {
    let reads = 0;
    const { transport, connection } = socketOf('s1', user);
    const { broker, delivery } = setup({
      connections: [connection],
      rooms: { find: async () => room },
      authorization: { assertAny: async () => undefined, can: async () => (reads++, Promise.reject(new Error('storage is unavailable'))) },
    });
    await joined(delivery, connection, 'ops');
    broker.backInTouch();
    broker.backInTouch();
    await settled();
    expect(reads).toBe(2);
    jest.advanceTimersByTime(1000);
    await settled();
    expect(reads).toBe(3);
    // One line when the retry was scheduled, one when it failed again.
    expect(warned.mock.calls.filter(([line]: unknown[]) => String(line).startsWith('re-checking memberships'))).toHaveLength(2);
    expect(transport.frames).toEqual([]);
  });

  it('does not read again a room the database says is not there', async () => {
    let reads = 0;
    await memberBackInTouch(async () => (reads++, Promise.reject(RealtimeError.notFound('room ops does not exist'))));
    jest.advanceTimersByTime(5000);
    await settled();
    expect(reads).toBe(1);
    expect(warned).toHaveBeenCalledWith('re-checking whether room ops was archived: room ops does not exist');
  });
});

describe('DeliveryService room event screening', () => {
  it("hands the broker's room events to the members here only past the screen, and what is delivered here alone without it", async () => {
    const { broker, delivery, transport, connection } = setup({ authorization: noWait });
    await joined(delivery, connection, 'ops');
    delivery.screenRoomEvents((event) => event.event !== 'presence.join');
    const presence = (event: string, id: string) => ({ roomKey: room.key, event, data: { room: 'ops', user: { id, name: id } } });
    broker.publishRoomEvent(presence('presence.join', 'bob'));
    broker.publishRoomEvent(presence('presence.leave', 'bob'));
    delivery.deliverHere(presence('presence.join', 'cat'));
    // Never to the user it is about (the connection is ann's).
    delivery.deliverHere({ ...presence('presence.join', 'ann'), excludeUserId: 'ann' });
    await settled();
    expect(transport.frames.map((frame) => `${frame.event} ${(frame.data as { user: { id: string } }).user.id}`)).toEqual(['presence.leave bob', 'presence.join cat']);
  });
});
