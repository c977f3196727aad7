export type FrameVerdict = 'accept' | 'refuse' | 'close';

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
 * Every frame counts, good or bad. A frame whose answer was large (a page
 * of history) is charged its size on top (see `charge`).
 *
 * A flood begins with a refusal and ends only once the socket has sent a
 * second's worth of frames fewer than its rate allowed (`perSecond` tokens
 * saved since, counted past the burst): a refusal `closeAfterMs` or more
 * into a flood tells the socket to go. How far apart the refusals come does
 * not matter: a client a little over its rate is refused a frame only now
 * and then, but it never saves anything up.
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
      if (this.savedInFlood >= perSecond) this.floodStartedAt = undefined;
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
    return now - this.floodStartedAt >= closeAfterMs ? 'close' : 'refuse';
  }

  /** Whether the tokens have all come back by `now`: the budget would then accept as a new one does. */
  isFull(now: number): boolean {
    return this.tokens + this.earnedSinceUpdate(now) >= this.policy.burst;
  }

  private earnedSinceUpdate(now: number): number {
    // A wall clock stepped back gives nothing, and takes nothing either.
    return (Math.max(0, now - this.updatedAt) * this.policy.perSecond) / 1000;
  }

  /**
   * Charges work beyond the frame itself, in frames. The debt is capped at a
   * second's worth: it slows a socket down for at most a second, shorter than
   * a flood must last to close it, so a client that paces its frames and
   * its pages within its rate is never closed for fetching large pages.
   */
  charge(frames: number): void {
    const before = this.tokens;
    this.tokens = Math.max(-this.policy.perSecond, this.tokens - frames);
    this.savedInFlood -= before - this.tokens;
  }
}
