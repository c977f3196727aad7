/**
 * How long a readiness ping's answer is reused after it arrived. Balancers
 * poll every few seconds, so a second-old answer serves them as well as a
 * new one; it caps what a flood of `/health/ready` requests costs a node at
 * one ping per second per dependency, on top of sharing the ping in flight.
 */
export const READINESS_ANSWER_FRESH_FOR_MS = 1000;
/**
 * A readiness ping out this long is taken for lost: the next request sends
 * another. A query on a connection dropped without a reset (a failover, a
 * firewall) answers only at the statement timeout (15 s by default, up to
 * 10 min): waiting for it would keep a node out of the balancer that long
 * after its database is back. The price: at most one more ping out per this
 * interval while the database hangs.
 */
export const READINESS_PING_LOST_AFTER_MS = 5000;

/** How one probe ended, and how long it took. */
export type ProbeOutcome<T> = { ok: true; value: T; durationMs: number } | { ok: false; error: Error; durationMs: number };

/**
 * Runs a probe for many callers with one run outstanding: callers while it
 * runs share it, callers within `freshForMs` of its answer get that answer,
 * and only later callers start a new run. A run out for `lostAfterMs` is
 * given up: the next caller starts another (those waiting on it keep
 * waiting, each for as long as it chose to).
 *
 * The shared promise never rejects (a failure is an outcome), so callers that
 * stop waiting for it leave no unhandled rejection behind. Times come from a
 * monotonic clock: a step of the wall clock must not stretch the window.
 */
export class SharedProbe<T> {
  private latest?: Promise<ProbeOutcome<T>>;
  /** Counts the runs: an abandoned run that answers late does not touch the current one's state. */
  private runs = 0;
  private startedAt = 0;
  /** When the current run settled; undefined while it runs. */
  private settledAt?: number;

  constructor(
    private readonly probe: () => Promise<T>,
    private readonly freshForMs: number,
    private readonly lostAfterMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  run(): Promise<ProbeOutcome<T>> {
    const now = this.now();
    const current = this.settledAt === undefined ? now - this.startedAt < this.lostAfterMs : now - this.settledAt < this.freshForMs;
    if (this.latest && current) return this.latest;
    this.startedAt = now;
    this.settledAt = undefined;
    this.latest = this.runOnce(++this.runs);
    return this.latest;
  }

  /** The outcome, or undefined when it has not come within `timeoutMs` of this call. */
  async runWithin(timeoutMs: number): Promise<ProbeOutcome<T> | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.run(),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async runOnce(run: number): Promise<ProbeOutcome<T>> {
    const started = this.now();
    let outcome: ProbeOutcome<T>;
    try {
      const value = await this.probe();
      outcome = { ok: true, value, durationMs: this.now() - started };
    } catch (error) {
      outcome = { ok: false, error: error instanceof Error ? error : new Error(String(error)), durationMs: this.now() - started };
    }
    if (run === this.runs) this.settledAt = this.now();
    return outcome;
  }
}
