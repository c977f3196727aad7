/**
 * What one node tells the others. `LocalBroker` serves a single node;
 * `RedisBroker` carries the same events between the nodes of a cluster.
 */

/** A push for every member of a room, on every node. */
export interface RoomEvent {
  roomKey: string;
  event: string;
  data: object;
  /** Set for `message` pushes: members receive them in this order, once each. */
  seq?: number;
  /** Set for `message.updated` and `message.deleted`: the `seq` of the message they change, which members receive first. */
  aboutSeq?: number;
  /** A socket that should not receive it (the typist of a `typing` push). */
  excludeConnectionId?: string;
  /** A user none of whose sockets should receive it (the user of a `presence.join` a node repeats after a Redis outage). */
  excludeUserId?: string;
}

/** Changes that every node applies to its caches and live sockets. */
export type ControlMessage =
  /** Effective permissions changed: of one user, or (no userId) of a whole tenant. */
  | { type: 'permissions.changed'; tenantId: string; userId?: string }
  /** A room was archived or restored. */
  | { type: 'room.changed'; roomKey: string; archived: boolean }
  | { type: 'user.disconnect'; tenantId: string; userId: string };

export abstract class Broker {
  private readonly roomEventHandlers: Array<(event: RoomEvent) => void> = [];
  private readonly controlHandlers: Array<(message: ControlMessage) => void> = [];
  private readonly reconnectHandlers: Array<() => void> = [];

  /** Delivers on this node at once and to the other nodes through the broker, once per room. */
  abstract publishRoomEvent(event: RoomEvent): void;
  /** Resolves once this node has applied the change; other nodes follow within the broker's latency. */
  abstract publishControl(message: ControlMessage): Promise<void>;
  /**
   * This node has members in the room: it needs the room's events from the
   * other nodes. Resolves once they arrive (or after a bounded wait, when the
   * other nodes are out of reach: the node catches up when they are back).
   */
  abstract watchRoom(roomKey: string): Promise<void>;
  abstract unwatchRoom(roomKey: string): void;
  /** Whether the node is in touch with the other nodes (for /health/ready). */
  abstract inTouch(): Promise<boolean>;

  onRoomEvent(handler: (event: RoomEvent) => void): void {
    this.roomEventHandlers.push(handler);
  }

  onControl(handler: (message: ControlMessage) => void): void {
    this.controlHandlers.push(handler);
  }

  /**
   * After this node was cut off from the other nodes, or another node could
   * not reach them for a while: what was said meanwhile was missed and must be
   * caught up.
   */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  protected dispatchRoomEvent(event: RoomEvent): void {
    for (const handler of this.roomEventHandlers) handler(event);
  }

  /** Returns the first handler error, after running them all. */
  protected dispatchControl(message: ControlMessage): Error | undefined {
    let failure: Error | undefined;
    for (const handler of this.controlHandlers) {
      try {
        handler(message);
      } catch (error) {
        failure ??= error as Error;
      }
    }
    return failure;
  }

  protected dispatchReconnect(): void {
    for (const handler of this.reconnectHandlers) handler();
  }
}
