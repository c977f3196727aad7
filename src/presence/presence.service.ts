import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { Broker } from '../broker/broker.js';
import { RECONNECT_WAIT_MAX_MS, RedisConnections } from '../broker/redis-connections.js';
import type { Connection } from '../delivery/connection.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import type { RoomMembership } from '../delivery/room-membership.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { ServerEvent } from '../protocol/events.js';
import type { RoomUserPush, UserView } from '../protocol/wire.js';
import { RoomsService } from '../rooms/rooms.service.js';
import { PresenceCatchUp } from './presence-catch-up.js';
import { PresenceDirectory } from './presence-directory.js';

/**
 * `typing` is relayed at most this often per socket and room: one frame
 * becomes a push to every member, so a socket repeating it at its rate limit
 * would multiply its frames by the room's size. Clients repeat it every few
 * seconds while the user types.
 */
export const TYPING_RELAY_INTERVAL_MS = 1000;
/** Rooms a socket's relay times are kept for before the stale ones are dropped. */
const TYPING_ROOMS_KEPT = 32;

/**
 * Who is in each room, counting a user once however many sockets (and
 * nodes) they use, and the `presence.join` / `presence.leave` / `typing`
 * pushes. This node counts its own sockets; the directory knows the cluster.
 */
@Injectable()
export class PresenceService implements OnApplicationShutdown {
  private readonly logger = new Logger('RealtimePresence');
  /** Sockets per user per room, on this node. */
  private readonly sockets = new Map<string, Map<string, number>>();
  /** When each socket's `typing` was last relayed, per room (kept only while the socket lives). */
  private readonly typingRelayed = new WeakMap<Connection, Map<string, number>>();
  /** In a cluster: what this node's members missed of the presence pushes while it was out of touch. */
  private readonly catchUp: PresenceCatchUp | null;

  constructor(
    private readonly broker: Broker,
    private readonly rooms: RoomsService,
    private readonly directory: PresenceDirectory,
    delivery: DeliveryService,
    @Inject(RedisConnections) redis: RedisConnections | null,
  ) {
    delivery.onMembershipChange((change, membership) => (change === 'joined' ? this.arrived(membership) : this.departed(membership)));
    // A single node misses none of its own pushes. After an outage every node is back within the longest
    // wait between its reconnect attempts, and puts its users back in the directory at once; the reaper
    // waits a beat for that too.
    const isHere = (roomKey: string, userId: string) => this.sockets.get(roomKey)?.has(userId) ?? false;
    this.catchUp = redis ? new PresenceCatchUp(directory, broker, delivery, isHere, Math.max(redis.beatMs, RECONNECT_WAIT_MAX_MS)) : null;
  }

  onApplicationShutdown(): void {
    this.catchUp?.stop();
  }

  async list(user: AuthenticatedUser, roomName: string): Promise<{ room: string; users: UserView[] }> {
    const room = await this.rooms.find(user.tenantId, roomName);
    try {
      return { room: roomName, users: await this.directory.list(room.key) };
    } catch (error) {
      this.logger.warn(`presence is out of reach: ${(error as Error).message}`);
      throw RealtimeError.unavailable('presence is out of reach right now');
    }
  }

  /** Tells the room's other sockets that the user is typing; a repeat within the interval is answered, not relayed. */
  async typing(connection: Connection, roomName: string): Promise<{ room: string }> {
    const user = connection.user!;
    const room = await this.rooms.findActive(user.tenantId, roomName);
    let relayed = this.typingRelayed.get(connection);
    if (!relayed) this.typingRelayed.set(connection, (relayed = new Map()));
    const now = Date.now();
    if (now - (relayed.get(room.key) ?? -Infinity) < TYPING_RELAY_INTERVAL_MS) return { room: roomName };
    if (relayed.size >= TYPING_ROOMS_KEPT) for (const [key, at] of relayed) if (now - at >= TYPING_RELAY_INTERVAL_MS) relayed.delete(key);
    relayed.set(room.key, now);
    const push: RoomUserPush = { room: roomName, user: { id: user.id, name: user.name } };
    this.broker.publishRoomEvent({ roomKey: room.key, event: ServerEvent.TYPING, data: push, excludeConnectionId: connection.id });
    return { room: roomName };
  }

  private arrived(membership: RoomMembership): void {
    const user = membership.connection.user!;
    const { room } = membership;
    let users = this.sockets.get(room.key);
    const firstHere = !users;
    if (!users) this.sockets.set(room.key, (users = new Map()));
    const count = (users.get(user.id) ?? 0) + 1;
    users.set(user.id, count);
    if (count > 1) return;
    this.directory.arrive(room.key, { id: user.id, name: user.name }).then(
      (arrived) => arrived && this.announce(membership, ServerEvent.PRESENCE_JOIN),
      (error: Error) => this.logger.warn(`presence join not shared: ${error.message}`),
    );
    if (firstHere) this.catchUp?.follow(room.key, room.name);
  }

  private departed(membership: RoomMembership): void {
    const user = membership.connection.user!;
    const users = this.sockets.get(membership.room.key);
    const count = (users?.get(user.id) ?? 0) - 1;
    if (!users || count < 0) return;
    if (count > 0) {
      users.set(user.id, count);
      return;
    }
    users.delete(user.id);
    if (users.size === 0) {
      this.sockets.delete(membership.room.key);
      this.catchUp?.unfollow(membership.room.key);
    }
    this.directory.depart(membership.room.key, user.id).then(
      (departed) => departed && this.announce(membership, ServerEvent.PRESENCE_LEAVE),
      (error: Error) => this.logger.warn(`presence leave not shared: ${error.message}`),
    );
  }

  private announce(membership: RoomMembership, event: string): void {
    const user = membership.connection.user!;
    const push: RoomUserPush = { room: membership.room.name, user: { id: user.id, name: user.name } };
    this.broker.publishRoomEvent({ roomKey: membership.room.key, event, data: push, excludeConnectionId: membership.connection.id });
  }
}
