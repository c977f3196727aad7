import type { Logger } from '@nestjs/common';
import { RealtimeError } from '../protocol/error-codes.js';

/** At most one log line per this interval while the database keeps failing. */
const REPORT_INTERVAL_MS = 5000;
let lastReport = 0;
let suppressed = 0;

/** Logs a database failure, summarising repeats so that an outage does not flood the log. */
export function reportStorageFailure(logger: Logger, error: Error): void {
  const now = Date.now();
  if (now - lastReport < REPORT_INTERVAL_MS) {
    suppressed++;
    return;
  }
  const repeats = suppressed > 0 ? ` (${suppressed} more failures since the last report)` : '';
  lastReport = now;
  suppressed = 0;
  logger.error(`storage failed: ${error.message}${repeats}`);
}

/**
 * Runs database work; a failure of the database itself (not a RealtimeError
 * the work threw on purpose) is logged and becomes UNAVAILABLE: nothing was
 * done and the client may retry.
 */
export async function withStorage<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RealtimeError) throw error;
    reportStorageFailure(logger, error as Error);
    // The driver's error stays attached, for callers that tell one kind of failure from another (MessageWriter).
    throw Object.assign(RealtimeError.unavailable('storage is unavailable; nothing was done'), { cause: error });
  }
}
