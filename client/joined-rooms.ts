/**
 * The rooms the client wants to be in and, for each, the highest `seq` it
 * has passed on to the app. That number is the `since` of every rejoin, and
 * the filter that lets each `seq` through once and in order, whatever a
 * reconnect replays twice.
 */
export class JoinedRooms {
  private readonly lastSeen = new Map<string, number | undefined>();
  /**
   * Rooms joined again with an explicit `since`, until the join's reply: live
   * messages that arrive meanwhile are held back, as the replay brings them
   * (every message pushed before the join is stored), and passing one on
   * would move the filter past the replay.
   */
  private readonly awaitingReplay = new Set<string>();

  /** Wants the room; an explicit `since` asks for everything after it again. */
  want(room: string, since?: number): void {
    if (since !== undefined || !this.lastSeen.has(room)) this.lastSeen.set(room, since ?? this.lastSeen.get(room));
    if (since !== undefined) this.awaitingReplay.add(room);
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

  /** The `since` to join with: undefined for a room whose first join has not been answered. */
  since(room: string): number | undefined {
    return this.lastSeen.get(room);
  }

  /** A join reply: a first join (without `since`) receives what comes after the room's `lastSeq`. */
  joined(room: string, lastSeq: number): void {
    this.awaitingReplay.delete(room);
    if (this.lastSeen.has(room) && this.lastSeen.get(room) === undefined) this.lastSeen.set(room, lastSeq);
  }

  /** The join did not happen: live messages pass again. */
  joinFailed(room: string): void {
    this.awaitingReplay.delete(room);
  }

  /**
   * A `message` push, a replayed deleted one too (its `seq` counts as seen):
   * true when the app should see it, false for a room not joined or a `seq` already seen.
   */
  acceptMessage(room: string, seq: number): boolean {
    if (!this.lastSeen.has(room) || this.awaitingReplay.has(room)) return false;
    const last = this.lastSeen.get(room);
    if (last !== undefined && seq <= last) return false;
    this.lastSeen.set(room, seq);
    return true;
  }
}
