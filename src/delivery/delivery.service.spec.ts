import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { AuthorizationService } from '../authorization/authorization.service.js';
import { LocalBroker } from '../broker/local-broker.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
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

function setup({ audit = {}, connections = [] }: { audit?: Partial<AuditService>; connections?: Connection[] } = {}) {
  const broker = new BackInTouchBroker();
  let allowJoin: () => void = () => undefined;
  const authorization = {
    onPermissionsChanged: () => undefined,
    // The user's permissions are being loaded: the join waits for the test to let it go on.
    assertAny: () => new Promise<void>((resolve) => (allowJoin = resolve)),
  };
  const rooms = { open: () => room, lastSeq: async () => 0 };
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
    {} as MessagesService,
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
  const socketOf = (id: string, who: AuthenticatedUser) => {
    const transport = new RecordingTransport();
    return { transport, connection: new Connection(id, transport, who, 1 << 20) };
  };
  const bob: AuthenticatedUser = { ...user, id: 'bob', name: 'Bob' };

  it('closes with 4003 the sockets opened before a disconnect of their user it missed, and no others', async () => {
    const before = socketOf('before', user);
    const bobs = socketOf('bob', bob);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const after = socketOf('after', user);
    const at = after.connection.openedAt - 1;
    const asked: number[] = [];
    const audit = {
      latestByTarget: async (action: string, since: number) => {
        asked.push(since);
        expect(action).toBe('user.disconnect');
        return [
          { tenantId: 'acme', target: 'user:ann', at },
          // Another tenant's ann, and a target that is no user.
          { tenantId: 'globex', target: 'user:ann', at: Date.now() },
          { tenantId: 'acme', target: 'room:bob', at: Date.now() },
        ];
      },
    };
    const { broker } = setup({ audit, connections: [before.connection, bobs.connection, after.connection] });
    broker.backInTouch();
    await settled();
    expect(asked).toEqual([before.connection.openedAt]);
    expect([before.transport.closedWith, after.transport.closedWith, bobs.transport.closedWith]).toEqual([4003, undefined, undefined]);
  });

  it('closes nothing and logs a warning when the audit log cannot be read', async () => {
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const socket = socketOf('s1', user);
      const audit = { latestByTarget: async () => Promise.reject(new Error('storage is unavailable')) };
      const { broker } = setup({ audit, connections: [socket.connection] });
      broker.backInTouch();
      await settled();
      expect(socket.transport.closedWith).toBeUndefined();
      expect(warned).toHaveBeenCalledWith('catching up with disconnects: storage is unavailable');
    } finally {
      warned.mockRestore();
    }
  });
});
