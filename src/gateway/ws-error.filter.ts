import { Catch, HttpException, Logger, type ArgumentsHost, type WsExceptionFilter } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ErrorCode, RealtimeError } from '../protocol/error-codes.js';
import { frameContextOf } from './gateway.decorators.js';

const logger = new Logger('RealtimeGateway');

/** Anything a handler, guard or pipe throws, as the contract's error. */
export function toRealtimeError(exception: unknown): RealtimeError {
  if (exception instanceof RealtimeError) return exception;
  if (exception instanceof WsException || exception instanceof HttpException) {
    const status = exception instanceof HttpException ? exception.getStatus() : 400;
    if (status === 403 || exception.message === 'Forbidden resource') return RealtimeError.forbidden(exception.message);
    if (status === 400) return RealtimeError.badRequest(exception.message);
  }
  // Unexpected: the stack goes to the log, not to the client.
  logger.error(`unhandled error: ${(exception as Error)?.message}`, (exception as Error)?.stack);
  return new RealtimeError(ErrorCode.INTERNAL, 'internal error; the request may not have been processed');
}

/** Records the error on the frame; the dispatcher sends it with the request's id. */
@Catch()
export class WsErrorFilter implements WsExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    frameContextOf(host).error = toRealtimeError(exception);
  }
}
