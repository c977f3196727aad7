/**
 * The rooms the client wants to be in and, for each, the highest `seq` it
 * has passed on to the app. That number is the `since` of every rejoin, and
 * the filter that lets each `seq` through once and in order, whatever a
 * reconnect replays twice.
 */
export class JoinedRooms<Message = unknown> {
  private readonly lastSeen = new Map<string, number | undefined>();
  /**
   * Rooms joined again with an explicit `since`, until the join's reply: the
   * `since`, and the live messages that arrive meanwhile. Those are held back,
   * as the replay brings them (every message pushed before the join is
   * stored) and passing one on would move the filter past the replay; if the
   * join fails, they are passed on after all.
   */
  private readonly awaitingReplay = new Map<string, { since: number; held: Array<{ seq: number; message: Message }> }>();

  /** Wants the room; an explicit `since` asks for everything after it again, from the join's reply on. */
  want(room: string, since?: number): void {
    if (!this.lastSeen.has(room)) this.lastSeen.set(room, since);
    if (since !== undefined) this.awaitingReplay.set(room, { since, held: this.awaitingReplay.get(room)?.held ?? [] });
  }

  forget(room: string): void {
    this.lastSeen.delete(room);
    this.awaitingReplay.delete(room);
  }

  has(room: string): boolean {
    return this.lastSeen.has(room);
  }

  names(): string[] {
    return [...this.lastSeen.keys()];
  }

  /** The `since` to join with: an explicit one until its join's reply; undefined for a room whose first join has not been answered. */
  since(room: string): number | undefined {
    return this.awaitingReplay.get(room)?.since ?? this.lastSeen.get(room);
  }

  /** A join reply: a first join (without `since`) receives what comes after the room's `lastSeq`, one with `since` what comes after that. */
  joined(room: string, lastSeq: number): void {
    const replay = this.awaitingReplay.get(room);
    this.awaitingReplay.delete(room);
    if (!this.lastSeen.has(room)) return;
    if (replay) this.lastSeen.set(room, replay.since);
    else if (this.lastSeen.get(room) === undefined) this.lastSeen.set(room, lastSeq);
  }

  /** The join did not happen: the messages held back for its replay, to pass on now, and live messages pass again. */
  joinFailed(room: string): Message[] {
    const held = this.awaitingReplay.get(room)?.held ?? [];
    this.awaitingReplay.delete(room);
    return held.filter(({ seq }) => this.acceptMessage(room, seq)).map(({ message }) => message);
  }

  /**
   * A `message` push, a replayed deleted one too (its `seq` counts as seen):
   * true when the app should see it now, false for a room not joined, a `seq`
   * already seen, or one held back for a replay.
   */
  acceptMessage(room: string, seq: number, message?: Message): boolean {
    if (!this.lastSeen.has(room)) return false;
    const replay = this.awaitingReplay.get(room);
    if (replay) {
      if (message !== undefined) replay.held.push({ seq, message });
      return false;
    }
    const last = this.lastSeen.get(room);
    if (last !== undefined && seq <= last) return false;
    this.lastSeen.set(room, seq);
    return true;
  }
}
