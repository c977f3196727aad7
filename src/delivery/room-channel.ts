import type { RoomRecord } from '../rooms/rooms.service.js';
import type { RoomMembership } from './room-membership.js';

export interface StoredFrame {
  seq: number;
  frame: string;
}

export interface ChannelSource {
  /** The highest seq stored in the room. */
  lastSeq(room: RoomRecord): Promise<number>;
  /** Stored messages after `seq`, oldest first, as frames (a page at a time). */
  framesAfter(room: RoomRecord, seq: number): Promise<StoredFrame[]>;
}

/** An edit or deletion waiting for the message it changes. */
interface Follower {
  frame: string;
  excludeConnectionId?: string;
  /** Catch-ups started before it came. */
  catchUpsBefore: number;
}

/** How long a message that came ahead of a missing seq waits before the gap is read from the database. */
const GAP_WAIT_MS = 50;
/** How long to wait before reading again when the database could not be read. */
const RETRY_MS = 1000;

/**
 * A room's members on this node, and the order of the room's messages here.
 * Other nodes' messages come through the broker in publication order, which
 * need not be seq order: a message that arrives ahead of a missing seq waits
 * for it, briefly, then the gap is read from the database. Every message event
 * is serialised once and handed to each member in seq order.
 */
export class RoomChannel {
  readonly members = new Set<RoomMembership>();
  /** Told the `seq` of each message handed to the members (long polls waiting for the next one). */
  readonly messageWatchers = new Set<(seq: number) => void>();
  /** Resolves once the channel knows where the room's live messages start. */
  readonly ready: Promise<void>;
  /** The highest seq handed to the members; null until ready. */
  private delivered: number | null = null;
  private readonly waiting = new Map<number, string>();
  /** Edits and deletions of messages not handed over yet, by the `seq` of the message: they follow it. */
  private readonly followers = new Map<number, Follower[]>();
  /** Catch-ups started so far. */
  private catchUps = 0;
  private gapTimer: NodeJS.Timeout | undefined;
  private catchingUp = false;
  /** A catch-up asked for while another was reading, or before the channel was ready: it runs once they are done. */
  private catchUpRequested = false;
  private closed = false;

  constructor(
    readonly room: RoomRecord,
    private readonly source: ChannelSource,
    /** Subscribes the node to the room's events from other nodes (resolves once it is subscribed). */
    watching: Promise<void>,
    private readonly onCatchUpFailure: (error: Error) => void,
  ) {
    this.ready = (async () => {
      await watching;
      // Everything stored up to here is history; from here on it arrives live.
      const start = await source.lastSeq(room);
      this.delivered = start;
      for (const seq of [...this.waiting.keys()]) if (seq <= start) this.waiting.delete(seq);
      this.sendFollowers();
      this.release();
      if (this.catchUpRequested) void this.catchUp();
    })();
    // A failed start is handled by the joins awaiting `ready`.
    this.ready.catch(() => undefined);
  }

  /**
   * The highest seq handed to the members: where a member joining now starts
   * to receive live messages. Messages stored meanwhile on other nodes are
   * still on their way here and follow it without a gap.
   */
  get lastDelivered(): number {
    if (this.delivered === null) throw new Error(`the channel of room ${this.room.name} is not ready`);
    return this.delivered;
  }

  /**
   * A room event for this node's members; `seq` for messages, which must keep
   * their order; `aboutSeq` for an edit or deletion, which must not overtake
   * the message it changes (another node's message may still be on its way here).
   */
  push(frame: string, seq?: number, excludeConnectionId?: string, aboutSeq?: number, excludeUserId?: string): void {
    if (this.closed) return;
    if (seq === undefined) {
      if (aboutSeq === undefined || (this.delivered !== null && aboutSeq <= this.delivered)) return this.send(frame, undefined, excludeConnectionId, excludeUserId);
      const follower: Follower = { frame, excludeConnectionId, catchUpsBefore: this.catchUps };
      const followers = this.followers.get(aboutSeq);
      if (followers) followers.push(follower);
      else this.followers.set(aboutSeq, [follower]);
      // The message itself may never come through the broker (its node lost Redis): the database has it.
      return this.scheduleGapFill();
    }
    if (this.delivered !== null) {
      if (seq <= this.delivered) return;
      // The common case, the next seq with nothing waiting, skips the map (a map that is
      // added to and deleted from for every message keeps reallocating its table).
      if (seq === this.delivered + 1 && this.waiting.size === 0) return this.handOver(frame, seq);
    }
    this.waiting.set(seq, frame);
    this.release();
  }

  /** Reads whatever was stored after the last delivered seq: after a gap, and after the broker was away. */
  async catchUp(): Promise<void> {
    if (this.closed) return;
    // The running read may have begun before what this catch-up is for was stored.
    if (this.delivered === null || this.catchingUp) {
      this.catchUpRequested = true;
      return;
    }
    this.catchUpRequested = false;
    this.catchingUp = true;
    const catchUp = ++this.catchUps;
    try {
      let horizon: number;
      for (;;) {
        // What waits now was stored before this read began, and so was every seq below it.
        horizon = this.highestWaiting();
        const stored = await this.source.framesAfter(this.room, this.delivered);
        if (stored.length === 0) break;
        for (const { seq, frame } of stored) if (seq > this.delivered) this.waiting.set(seq, frame);
        this.release();
      }
      // A gap below the horizon is not in the database: not worth waiting for. A message that came
      // during the read may follow seqs committed after it began: the next catch-up reads them.
      this.release(horizon, catchUp);
    } catch (error) {
      this.onCatchUpFailure(error as Error);
      this.scheduleGapFill(RETRY_MS);
    } finally {
      this.catchingUp = false;
      if (this.catchUpRequested) void this.catchUp();
    }
  }

  close(): void {
    this.closed = true;
    this.cancelGapFill();
    this.waiting.clear();
    this.followers.clear();
  }

  /**
   * Hands over every waiting message that is next in line; after a catch-up,
   * a gap below `skipGapsUpTo` (one the database did not have) is not waited for.
   */
  private release(skipGapsUpTo = 0, catchUp?: number): void {
    if (this.delivered === null) return;
    for (;;) {
      let next = this.waiting.get(this.delivered + 1);
      if (next === undefined && this.waiting.size > 0) {
        let first = Infinity;
        for (const seq of this.waiting.keys()) first = Math.min(first, seq);
        if (first <= skipGapsUpTo) {
          next = this.waiting.get(first);
          this.delivered = first - 1;
        }
      }
      if (next === undefined) break;
      this.waiting.delete(this.delivered + 1);
      this.handOver(next, this.delivered + 1);
    }
    if (catchUp !== undefined) this.sendFollowers(catchUp);
    if (this.waiting.size > 0 || this.followers.size > 0) this.scheduleGapFill();
    else this.cancelGapFill();
  }

  private highestWaiting(): number {
    let highest = 0;
    for (const seq of this.waiting.keys()) highest = Math.max(highest, seq);
    return highest;
  }

  private cancelGapFill(): void {
    clearTimeout(this.gapTimer);
    // Unset, or the next gap would never be scheduled for filling.
    this.gapTimer = undefined;
  }

  private handOver(frame: string, seq: number): void {
    this.delivered = seq;
    this.send(frame, seq);
    for (const watcher of this.messageWatchers) watcher(seq);
    if (this.followers.size > 0) this.sendFollowers();
  }

  /**
   * The edits and deletions whose message has been handed over. After a
   * catch-up, also those that came before it started: their message was
   * stored before they were made, so the catch-up would have found it.
   */
  private sendFollowers(catchUp?: number): void {
    for (const [seq, followers] of this.followers) {
      const due = seq <= this.delivered! ? followers : catchUp === undefined ? [] : followers.filter((f) => f.catchUpsBefore < catchUp);
      if (due.length === 0) continue;
      if (due.length === followers.length) this.followers.delete(seq);
      else this.followers.set(seq, followers.filter((f) => !due.includes(f)));
      for (const { frame, excludeConnectionId } of due) this.send(frame, undefined, excludeConnectionId);
    }
  }

  private scheduleGapFill(delayMs = GAP_WAIT_MS): void {
    if (this.gapTimer || this.closed) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      void this.catchUp();
    }, delayMs);
    this.gapTimer.unref();
  }

  private send(frame: string, seq: number | undefined, excludeConnectionId?: string, excludeUserId?: string): void {
    for (const membership of this.members) {
      const { connection } = membership;
      if (connection.id !== excludeConnectionId && (excludeUserId === undefined || connection.user?.id !== excludeUserId)) membership.deliver(frame, seq);
    }
  }
}
