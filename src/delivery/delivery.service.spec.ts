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
  close(): void {}
  terminate(): void {}
  ping(): void {}
  attach(): void {}
  onClose(): void {}
}

const user: AuthenticatedUser = { id: 'ann', tenantId: 'acme', name: 'Ann', expiresAt: Number.MAX_SAFE_INTEGER };
const room: RoomRecord = { id: 1, tenantId: 'acme', name: 'ops', key: roomKey('acme', 'ops'), archived: false };

function setup() {
  const broker = new LocalBroker();
  let allowJoin: () => void = () => undefined;
  const authorization = {
    onPermissionsChanged: () => undefined,
    // The user's permissions are being loaded: the join waits for the test to let it go on.
    assertAny: () => new Promise<void>((resolve) => (allowJoin = resolve)),
  };
  const rooms = { open: () => room, lastSeq: async () => 0 };
  const registry = { all: [], ofUser: () => [], authenticatedIn: () => [], remove: () => undefined };
  const metrics = { frameOut: () => undefined, delivered: () => undefined };
  const delivery = new DeliveryService(
    broker,
    rooms as unknown as RoomsService,
    {} as MessagesService,
    authorization as unknown as AuthorizationService,
    registry as unknown as ConnectionRegistry,
    {} as AuditService,
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
