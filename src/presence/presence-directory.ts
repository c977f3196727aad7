import type { UserView } from '../protocol/wire.js';

/**
 * Who is in which room across the cluster. The presence service tells it when
 * a user's first socket on this node joins a room and when their last one
 * leaves; it answers whether that made them arrive in, or leave, the room as a
 * whole (no socket on any node before, or after).
 */
export abstract class PresenceDirectory {
  abstract arrive(roomKey: string, user: UserView): Promise<boolean>;
  abstract depart(roomKey: string, userId: string): Promise<boolean>;
  abstract list(roomKey: string): Promise<UserView[]>;
}

/** A single node: this node's users are everyone. */
export class LocalPresenceDirectory extends PresenceDirectory {
  private readonly rooms = new Map<string, Map<string, string>>();

  async arrive(roomKey: string, user: UserView): Promise<boolean> {
    let users = this.rooms.get(roomKey);
    if (!users) this.rooms.set(roomKey, (users = new Map()));
    const arrived = !users.has(user.id);
    users.set(user.id, user.name);
    return arrived;
  }

  async depart(roomKey: string, userId: string): Promise<boolean> {
    const users = this.rooms.get(roomKey);
    const departed = users?.delete(userId) ?? false;
    if (users?.size === 0) this.rooms.delete(roomKey);
    return departed;
  }

  async list(roomKey: string): Promise<UserView[]> {
    return [...(this.rooms.get(roomKey) ?? new Map<string, string>())].map(([id, name]) => ({ id, name }));
  }
}
