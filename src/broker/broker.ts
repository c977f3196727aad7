/**
 * What one node tells the others. The in-process broker serves a single node;
 * a Redis broker (scale-out) carries the same messages between nodes.
 */

/** A push for every member of a room, on every node. */
export interface RoomEvent {
  roomKey: string;
  event: string;
  data: object;
  /** Set for `message` pushes: members receive them in this order, once each. */
  seq?: number;
  /** A socket that should not receive it (the typist of a `typing` push). */
  excludeConnectionId?: string;
}

/** Changes that every node applies to its caches and live sockets. */
export type ControlMessage =
  /** Effective permissions changed: of one user, or (no userId) of a whole tenant; tenant '' without user means everyone. */
  | { type: 'permissions.changed'; tenantId: string; userId?: string }
  /** A room was archived or restored. */
  | { type: 'room.changed'; roomKey: string; archived: boolean }
  | { type: 'user.disconnect'; tenantId: string; userId: string };

export abstract class Broker {
  /** Delivers to every node, this one included, in publication order. */
  abstract publishRoomEvent(event: RoomEvent): void;
  abstract onRoomEvent(handler: (event: RoomEvent) => void): void;
  /** Resolves once this node has applied the change; other nodes follow within the broker's latency. */
  abstract publishControl(message: ControlMessage): Promise<void>;
  abstract onControl(handler: (message: ControlMessage) => void): void;
}
