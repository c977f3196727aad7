export type FrameVerdict = 'accept' | 'refuse' | 'close';

/** Refusals of a socket in debt (see `charge`) this far apart belong to separate floods. */
const QUIET_MS = 1000;

/** The limits every socket's budget shares. */
export interface FramePolicy {
  /** Frames sustained per second. */
  perSecond: number;
  /** Frames at once. */
  burst: number;
  /** How far into a flood (see FrameBudget) a refusal tells the socket to go. */
  closeAfterMs: number;
}

/**
 * A socket's token bucket: `perSecond` frames sustained, `burst` at once.
 * Every frame counts, good or bad. A frame whose answer was large (a page
 * of history) is charged its size on top (see `charge`).
 *
 * A flood begins with a refusal and ends only once the socket has sent a
 * second's worth of frames fewer than its rate allowed (`perSecond` tokens
 * saved since, counted past the burst): a refusal `closeAfterMs` or more
 * into a flood tells the socket to go. How far apart the refusals come does
 * not matter: a client a little over its rate is refused a frame only now
 * and then, but it never saves anything up. Except while the socket is in
 * debt for large answers: refusals a second apart then end a flood, so that
 * a client reading large pages at a steady pace is slowed, not closed (the
 * debt it pays back is not savings), while one that keeps sending into its
 * debt is closed.
 */
export class FrameBudget {
  private tokens: number;
  private updatedAt: number;
  /** When the flood began; undefined while there is none. */
  private floodStartedAt: number | undefined;
  /**
   * During a flood, the tokens saved since it began, without the burst's cap
   * (a burst smaller than a second's worth could never hold it); set afresh
   * when a flood begins.
   */
  private savedInFlood = 0;
  /** When the socket was last refused while in debt; undefined when its last refusal was not. */
  private refusedInDebtAt: number | undefined;

  constructor(
    private readonly policy: FramePolicy,
    now: number,
  ) {
    this.tokens = policy.burst;
    this.updatedAt = now;
  }

  take(now: number): FrameVerdict {
    const { perSecond, burst, closeAfterMs } = this.policy;
    const earned = this.earnedSinceUpdate(now);
    this.tokens = Math.min(burst, this.tokens + earned);
    this.updatedAt = now;
    if (this.floodStartedAt !== undefined) {
      this.savedInFlood += earned;
      const quietInDebt = this.refusedInDebtAt !== undefined && now - this.refusedInDebtAt > QUIET_MS;
      if (this.savedInFlood >= perSecond || quietInDebt) this.floodStartedAt = undefined;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.savedInFlood -= 1;
      return 'accept';
    }
    if (this.floodStartedAt === undefined) {
      this.floodStartedAt = now;
      this.savedInFlood = this.tokens;
    }
    this.refusedInDebtAt = this.tokens < 0 ? now : undefined;
    return now - this.floodStartedAt >= closeAfterMs ? 'close' : 'refuse';
  }

  /** Whether the tokens have all come back by `now`: the budget would then accept as a new one does. */
  isFull(now: number): boolean {
    return this.tokens + this.earnedSinceUpdate(now) >= this.policy.burst;
  }

  /** How long from `now` until the budget has a whole token again (0 if it has one): when `take` can next accept, floods aside. */
  msUntilToken(now: number): number {
    const missing = 1 - (this.tokens + this.earnedSinceUpdate(now));
    return missing > 0 ? (missing * 1000) / this.policy.perSecond : 0;
  }

  private earnedSinceUpdate(now: number): number {
    // A wall clock stepped back gives nothing, and takes nothing either.
    return (Math.max(0, now - this.updatedAt) * this.policy.perSecond) / 1000;
  }

  /**
   * Charges work beyond the frame itself, in frames. The debt is capped at a
   * second's worth: it slows a socket down for at most a second, shorter than
   * a flood must last to close it, so a client that waits for its refusals
   * to pass is never closed for fetching large pages.
   */
  charge(frames: number): void {
    const before = this.tokens;
    this.tokens = Math.max(-this.policy.perSecond, this.tokens - frames);
    this.savedInFlood -= before - this.tokens;
  }
}
