import type { RoomRemovedPush } from '../protocol/wire.js';
import type { RoomRecord } from '../rooms/rooms.service.js';
import type { Connection } from './connection.js';

interface HeldFrame {
  frame: string;
  seq: number | undefined;
}

/**
 * One socket's place in one room. While something holds it (a replay of
 * missed messages, a re-check of its permissions) live frames wait in order;
 * when the last hold is released they follow, minus what was already sent.
 * Message frames go out at most once each and in `seq` order.
 */
export class RoomMembership {
  private held: HeldFrame[] | null = null;
  private heldBytes = 0;
  private holds = 0;
  /** The highest message `seq` sent to this socket in this room. */
  private lastSeq = 0;
  active = true;
  /** Why the server took the socket out of the room, when it did (the socket was told with `room.removed`). */
  removedFor: RoomRemovedPush['reason'] | undefined;
  /** The latest `room.join` frame that made or kept it (Connection.framesArrived): a leave sent before that frame does not end it. */
  joinArrival = 0;
  /** A join's reply went out: a join of it that fails later does not end it. */
  confirmed = false;

  constructor(
    readonly connection: Connection,
    readonly room: RoomRecord,
  ) {}

  hold(): void {
    this.holds++;
    this.held ??= [];
  }

  release(): void {
    if (this.holds === 0 || --this.holds > 0) return;
    const held = this.held ?? [];
    this.held = null;
    this.connection.heldBytes -= this.heldBytes;
    this.heldBytes = 0;
    if (!this.active) return;
    for (const { frame, seq } of held) this.send(frame, seq);
  }

  /** The replay that is current; an older one stops at its next page. */
  private replayId = 0;

  /**
   * A join with `since`: what follows `since` will be replayed, even what this
   * socket already got, and a replay still running for an earlier join stops.
   */
  beginReplay(since: number): number {
    this.lastSeq = Math.min(this.lastSeq, since);
    return ++this.replayId;
  }

  isCurrentReplay(replayId: number): boolean {
    return this.active && this.replayId === replayId && this.connection.isOpen;
  }

  /** Nothing up to `seq` is sent, even if it arrives live now (the client has it, or asked to start after it). */
  skipTo(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  /** A live push: sent now, or kept until the holds are released. */
  deliver(frame: string, seq?: number): void {
    if (!this.active) return;
    if (!this.held) return this.send(frame, seq);
    this.held.push({ frame, seq });
    // Frames held for a socket count against its buffer as if they were sent (in UTF-16 units, close enough).
    this.heldBytes += frame.length;
    this.connection.heldBytes += frame.length;
    this.connection.checkBacklog();
  }

  /** A replayed message: sent even while held, since the replay is what holds it. */
  sendReplayed(frame: string, seq: number): void {
    if (this.active) this.send(frame, seq);
  }

  private send(frame: string, seq: number | undefined): void {
    if (seq !== undefined) {
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
    }
    this.connection.send(frame, seq);
  }
}
