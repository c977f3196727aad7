import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { AuthorizationService } from '../authorization/authorization.service.js';
import { LocalBroker } from '../broker/local-broker.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { RealtimeError } from '../protocol/error-codes.js';
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
  readonly frames: Array<{ event: string; data: { room?: string; seq?: number; reason?: string } }> = [];
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
}: { audit?: Partial<AuditService>; connections?: Connection[]; rooms?: Partial<RoomsService> } = {}) {
  const broker = new BackInTouchBroker();
  let allowJoin: () => void = () => undefined;
  const authorization = {
    onPermissionsChanged: () => undefined,
    // The user's permissions are being loaded: the join waits for the test to let it go on.
    assertAny: () => new Promise<void>((resolve) => (allowJoin = resolve)),
  };
  const rooms = { open: () => room, lastSeq: async () => 0, ...roomsGiven };
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
    // Nothing stored in the room: catching up with it after an outage reads nothing.
    { after: async () => [] } as unknown as MessagesService,
    authorization as unknown as AuthorizationService,
    registry as unknown as ConnectionRegistry,
    audit as AuditService,
    { websocket: { maxRoomsPerSocket: 10 } } as ResolvedRealtimeOptions,
    metrics as unknown as RealtimeMetrics,
  );
  const transport = new RecordingTransport();
  const connection = new Connection('c1', transport, user, 1 << 20);
  return { broker, delivery, transport, connection, allowJoin: () => allowJoin() };
}

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
    // Once read, it is not read again; nor after the module is destroyed.
    jest.advanceTimersByTime(5000);
    expect(reads).toBe(3);

    const failing = setup({ audit: { latestByTarget: async () => (reads++, Promise.reject(new Error('down'))) }, connections: [socket.connection] });
    failing.broker.backInTouch();
    await settled();
    failing.delivery.onModuleDestroy();
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

  it('does not read again a room the database says is not there', async () => {
    let reads = 0;
    await memberBackInTouch(async () => (reads++, Promise.reject(RealtimeError.notFound('room ops does not exist'))));
    jest.advanceTimersByTime(5000);
    await settled();
    expect(reads).toBe(1);
    expect(warned).toHaveBeenCalledWith('re-checking whether room ops was archived: room ops does not exist');
  });
});
