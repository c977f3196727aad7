/**
 * How long a readiness ping's answer is reused after it arrived. Balancers
 * poll every few seconds, so a second-old answer serves them as well as a
 * new one; it caps what a flood of `/health/ready` requests costs a node at
 * one ping per second per dependency, on top of sharing the ping in flight.
 */
export const READINESS_ANSWER_FRESH_FOR_MS = 1000;

/** How one probe ended, and how long it took. */
export type ProbeOutcome<T> = { ok: true; value: T; durationMs: number } | { ok: false; error: Error; durationMs: number };

/**
 * Runs a probe for many callers with at most one run outstanding: callers
 * while it runs share it, callers within `freshForMs` of its answer get that
 * answer, and only later callers start a new run. A run that hangs is never
 * overtaken by another; callers bound their own wait.
 *
 * The shared promise never rejects (a failure is an outcome), so callers that
 * stop waiting for it leave no unhandled rejection behind.
 */
export class SharedProbe<T> {
  private latest?: Promise<ProbeOutcome<T>>;
  /** When `latest` settled; undefined while it runs. */
  private settledAt?: number;

  constructor(
    private readonly probe: () => Promise<T>,
    private readonly freshForMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  run(): Promise<ProbeOutcome<T>> {
    const runningOrFresh = this.settledAt === undefined || this.now() - this.settledAt < this.freshForMs;
    if (this.latest && runningOrFresh) return this.latest;
    this.settledAt = undefined;
    this.latest = this.runOnce();
    return this.latest;
  }

  private async runOnce(): Promise<ProbeOutcome<T>> {
    const started = this.now();
    let outcome: ProbeOutcome<T>;
    try {
      const value = await this.probe();
      outcome = { ok: true, value, durationMs: this.now() - started };
    } catch (error) {
      outcome = { ok: false, error: error instanceof Error ? error : new Error(String(error)), durationMs: this.now() - started };
    }
    this.settledAt = this.now();
    return outcome;
  }
}
