import type { Logger } from '@nestjs/common';
import { RealtimeError } from '../protocol/error-codes.js';

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
    logger.error(`storage: ${(error as Error).message}`);
    throw RealtimeError.unavailable('storage is unavailable; nothing was done');
  }
}
