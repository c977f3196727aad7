export type FrameVerdict = 'accept' | 'refuse' | 'close';

/**
 * A socket's token bucket: `perSecond` frames sustained, `burst` at once.
 * Every frame counts, good or bad. A socket still over the limit after
 * `closeAfterMs` of refusals is told to go.
 */
export class FrameBudget {
  private tokens: number;
  private updatedAt: number;
  private refusingSince = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly closeAfterMs: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  take(now: number): FrameVerdict {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.refusingSince = 0;
      return 'accept';
    }
    if (this.refusingSince === 0) this.refusingSince = now;
    return now - this.refusingSince >= this.closeAfterMs ? 'close' : 'refuse';
  }
}
