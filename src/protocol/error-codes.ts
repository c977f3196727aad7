import type { ErrorDetail } from './wire.js';

/** The error codes of the wire contract; REST errors use the same names. */
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  UNAVAILABLE: 'UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
/** One failed constraint of one field, as listed in an error's `details` (a wire shape: see wire.ts). */
export type { ErrorDetail };

export const HTTP_STATUS_BY_ERROR_CODE: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/**
 * The one error type of the services: gateways turn it into an `error` frame,
 * controllers into an HTTP status with the same code.
 */
export class RealtimeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'RealtimeError';
  }

  static badRequest(message: string, details?: ErrorDetail[]): RealtimeError {
    return new RealtimeError(ErrorCode.BAD_REQUEST, message, details);
  }
  static unauthorized(message: string): RealtimeError {
    return new RealtimeError(ErrorCode.UNAUTHORIZED, message);
  }
  static forbidden(message: string): RealtimeError {
    return new RealtimeError(ErrorCode.FORBIDDEN, message);
  }
  static notFound(message: string): RealtimeError {
    return new RealtimeError(ErrorCode.NOT_FOUND, message);
  }
  static conflict(message: string): RealtimeError {
    return new RealtimeError(ErrorCode.CONFLICT, message);
  }
  static rateLimited(message: string): RealtimeError {
    return new RealtimeError(ErrorCode.RATE_LIMITED, message);
  }
  static unavailable(message: string): RealtimeError {
    return new RealtimeError(ErrorCode.UNAVAILABLE, message);
  }
}
