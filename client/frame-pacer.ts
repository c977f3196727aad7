/**
 * Writes frames no faster than a token bucket allows, so that a burst (the
 * backlog resent after a reconnect, a chatty UI) stays under the server's
 * per-socket rate limit instead of being refused with `RATE_LIMITED`; frames
 * over the budget wait their turn, in order.
 */
export class FramePacer {
  private tokens: number;
  private refilledAt: number;
  private readonly waiting: Array<{ frame: string; wanted: () => boolean }> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly write: (frame: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.refilledAt = now();
  }

  /** `wanted` is asked when the frame's turn comes: one no longer wanted (its request timed out) is dropped, costing nothing. */
  send(frame: string, wanted: () => boolean = () => true): void {
    this.waiting.push({ frame, wanted });
    this.drain();
  }

  /** A new socket: the server's budget for it is full, and frames meant for the old one are dropped. */
  reset(): void {
    this.waiting.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.tokens = this.burst;
    this.refilledAt = this.now();
  }

  private drain(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000);
    this.refilledAt = now;
    while (this.waiting.length > 0 && this.tokens >= 1) {
      const { frame, wanted } = this.waiting.shift()!;
      if (!wanted()) continue;
      this.tokens--;
      this.write(frame);
    }
    if (this.waiting.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.drain();
        },
        Math.ceil(((1 - this.tokens) * 1000) / this.perSecond),
      );
    }
  }
}
