import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { Broker } from '../broker/broker.js';
import type { Connection } from '../delivery/connection.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import type { RoomMembership } from '../delivery/room-membership.js';
import { ServerEvent } from '../protocol/events.js';
import type { RoomUserPush, UserView } from '../protocol/wire.js';
import { RoomsService } from '../rooms/rooms.service.js';

interface Present {
  name: string;
  sockets: number;
}

/**
 * Who is in each room, counting a user once however many sockets they use,
 * and the `presence.join` / `presence.leave` / `typing` pushes.
 */
@Injectable()
export class PresenceService {
  private readonly present = new Map<string, Map<string, Present>>();

  constructor(
    private readonly broker: Broker,
    private readonly rooms: RoomsService,
    delivery: DeliveryService,
  ) {
    delivery.onMembershipChange((change, membership) =>
      change === 'joined' ? this.arrived(membership) : this.departed(membership),
    );
  }

  async list(user: AuthenticatedUser, roomName: string): Promise<{ room: string; users: UserView[] }> {
    const room = await this.rooms.find(user.tenantId, roomName);
    const users = [...(this.present.get(room.key) ?? new Map<string, Present>()).entries()].map(([id, { name }]) => ({ id, name }));
    return { room: roomName, users };
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
    let users = this.present.get(membership.room.key);
    if (!users) this.present.set(membership.room.key, (users = new Map()));
    const entry = users.get(user.id);
    if (entry) {
      entry.sockets++;
      return;
    }
    users.set(user.id, { name: user.name, sockets: 1 });
    this.announce(membership, ServerEvent.PRESENCE_JOIN);
  }

  private departed(membership: RoomMembership): void {
    const user = membership.connection.user!;
    const users = this.present.get(membership.room.key);
    const entry = users?.get(user.id);
    if (!users || !entry || --entry.sockets > 0) return;
    users.delete(user.id);
    if (users.size === 0) this.present.delete(membership.room.key);
    this.announce(membership, ServerEvent.PRESENCE_LEAVE);
  }

  private announce(membership: RoomMembership, event: string): void {
    const user = membership.connection.user!;
    const push: RoomUserPush = { room: membership.room.name, user: { id: user.id, name: user.name } };
    this.broker.publishRoomEvent({ roomKey: membership.room.key, event, data: push, excludeConnectionId: membership.connection.id });
  }
}
