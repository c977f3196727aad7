export type FrameVerdict = 'accept' | 'refuse' | 'close';

/** Refusals this far apart belong to separate floods. */
const QUIET_MS = 1000;

/** The limits every socket's budget shares. */
export interface FramePolicy {
  /** Frames sustained per second. */
  perSecond: number;
  /** Frames at once. */
  burst: number;
  /** How long a flood of refusals may last before the socket is told to go. */
  closeAfterMs: number;
}

/**
 * A socket's token bucket: `perSecond` frames sustained, `burst` at once.
 * Every frame counts, good or bad. A socket that keeps being refused for
 * `closeAfterMs` (tokens trickling back in between do not interrupt a flood;
 * a second without refusals does) is told to go. A frame whose answer was
 * large (a page of history) is charged its size on top (see `charge`).
 */
export class FrameBudget {
  private tokens: number;
  private updatedAt: number;
  private refusingSince = 0;
  private lastRefusal = 0;

  constructor(
    private readonly policy: FramePolicy,
    now: number,
  ) {
    this.tokens = policy.burst;
    this.updatedAt = now;
  }

  take(now: number): FrameVerdict {
    const { perSecond, burst, closeAfterMs } = this.policy;
    // A wall clock stepped back gives nothing, and takes nothing either.
    this.tokens = Math.min(burst, this.tokens + (Math.max(0, now - this.updatedAt) * perSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'accept';
    }
    if (this.refusingSince === 0 || now - this.lastRefusal > QUIET_MS) this.refusingSince = now;
    this.lastRefusal = now;
    return now - this.refusingSince >= closeAfterMs ? 'close' : 'refuse';
  }

  /**
   * Charges work beyond the frame itself, in frames. The debt is capped at a
   * second's worth: it slows a socket down for at most a second, shorter than
   * a flood must last to close it, so a client that paces its frames is
   * never closed for fetching large pages.
   */
  charge(frames: number): void {
    this.tokens = Math.max(-this.policy.perSecond, this.tokens - frames);
  }
}
