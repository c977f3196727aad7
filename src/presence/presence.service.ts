import { Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { Broker } from '../broker/broker.js';
import type { Connection } from '../delivery/connection.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import type { RoomMembership } from '../delivery/room-membership.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { ServerEvent } from '../protocol/events.js';
import type { RoomUserPush, UserView } from '../protocol/wire.js';
import { RoomsService } from '../rooms/rooms.service.js';
import { PresenceDirectory } from './presence-directory.js';

/**
 * Who is in each room, counting a user once however many sockets (and
 * nodes) they use, and the `presence.join` / `presence.leave` / `typing`
 * pushes. This node counts its own sockets; the directory knows the cluster.
 */
@Injectable()
export class PresenceService {
  private readonly logger = new Logger('RealtimePresence');
  /** Sockets per user per room, on this node. */
  private readonly sockets = new Map<string, Map<string, number>>();

  constructor(
    private readonly broker: Broker,
    private readonly rooms: RoomsService,
    private readonly directory: PresenceDirectory,
    delivery: DeliveryService,
  ) {
    delivery.onMembershipChange((change, membership) => (change === 'joined' ? this.arrived(membership) : this.departed(membership)));
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

  /** Tells the room's other sockets that the user is typing. */
  async typing(connection: Connection, roomName: string): Promise<{ room: string }> {
    const user = connection.user!;
    const room = await this.rooms.findActive(user.tenantId, roomName);
    const push: RoomUserPush = { room: roomName, user: { id: user.id, name: user.name } };
    this.broker.publishRoomEvent({ roomKey: room.key, event: ServerEvent.TYPING, data: push, excludeConnectionId: connection.id });
    return { room: roomName };
  }

  private arrived(membership: RoomMembership): void {
    const user = membership.connection.user!;
    let users = this.sockets.get(membership.room.key);
    if (!users) this.sockets.set(membership.room.key, (users = new Map()));
    const count = (users.get(user.id) ?? 0) + 1;
    users.set(user.id, count);
    if (count > 1) return;
    this.directory.arrive(membership.room.key, { id: user.id, name: user.name }).then(
      (arrived) => arrived && this.announce(membership, ServerEvent.PRESENCE_JOIN),
      (error: Error) => this.logger.warn(`presence join not shared: ${error.message}`),
    );
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
    if (users.size === 0) this.sockets.delete(membership.room.key);
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
