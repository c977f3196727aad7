import type { Logger } from '@nestjs/common';
import { RealtimeError } from '../protocol/error-codes.js';

/** At most one log line per this interval for each kind of failure. */
const REPORT_INTERVAL_MS = 5000;

/** What is logged of a failure: the driver's message and code; the statement's parameters are not added (they may hold secrets). */
export interface Failure {
  message: string;
  code?: unknown;
}

interface FailureReportSettings {
  level: 'error' | 'warn';
  /** The log line of one failure. */
  describe(failure: Failure): string;
  /** What the repeats are called in the summary: "(3 more <repeats> since the last report)". */
  repeats: string;
  /** Milliseconds; tests pass their own. */
  now?: () => number;
}

/**
 * Logs one kind of failure, summarising repeats so that a stream of them does
 * not flood the log. Each kind has its own throttle: a stream of one never
 * delays or hides the first line of another.
 */
export class FailureReport {
  private lastReport = -Infinity;
  private suppressed = 0;
  private readonly now: () => number;

  constructor(private readonly settings: FailureReportSettings) {
    // Not `Date.now` itself: Jest's fake timers replace `Date` after this module is loaded.
    this.now = settings.now ?? (() => Date.now());
  }

  report(logger: Logger, failure: Failure): void {
    const now = this.now();
    if (now - this.lastReport < REPORT_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    const repeats = this.suppressed > 0 ? ` (${this.suppressed} more ${this.settings.repeats} since the last report)` : '';
    this.lastReport = now;
    this.suppressed = 0;
    logger[this.settings.level](`${this.settings.describe(failure)}${repeats}`);
  }
}

/** The database itself failed (down, hanging, locked, a lost connection): an outage, process-wide. */
export const storageFailures = new FailureReport({ level: 'error', describe: ({ message }) => `storage failed: ${message}`, repeats: 'failures' });

/**
 * The database refused one message for its data (a constraint, a data
 * exception): the database is fine, so a warning, on a throttle of its own,
 * so that refusals never delay or fold in the first line of an outage.
 */
export const messageRefusals = new FailureReport({
  level: 'warn',
  describe: ({ message, code }) => `message refused by the database: ${message}${code ? ` (${String(code)})` : ''}`,
  repeats: 'refusals',
});

export interface StorageOptions {
  /** Failures the caller logs itself (MessageWriter: a message the database refused), not as the database's. */
  reportedByCaller?: (error: unknown) => boolean;
}

/**
 * Runs database work; a failure of the database itself (not a RealtimeError
 * the work threw on purpose) is logged and becomes UNAVAILABLE: nothing was
 * done and the client may retry.
 */
export async function withStorage<T>(logger: Logger, work: () => Promise<T>, options: StorageOptions = {}): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RealtimeError) throw error;
    if (!options.reportedByCaller?.(error)) storageFailures.report(logger, error as Error);
    // The driver's error stays attached, for callers that tell one kind of failure from another (MessageWriter).
    throw Object.assign(RealtimeError.unavailable('storage is unavailable; nothing was done'), { cause: error });
  }
}
