import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ErrorCode, HTTP_STATUS_BY_ERROR_CODE, RealtimeError } from './error-codes.js';

const CODE_BY_STATUS = new Map<number, ErrorCode>(
  Object.entries(HTTP_STATUS_BY_ERROR_CODE).map(([code, status]) => [status, code as ErrorCode]),
);

/**
 * REST errors: `{statusCode, code, message, details?}` with the status that
 * fits the code, and never a stack trace.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('RealtimeHttp');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<{ status(code: number): { json(body: unknown): void } }>();
    let error: RealtimeError;
    if (exception instanceof RealtimeError) {
      error = exception;
    } else if (exception instanceof HttpException) {
      // Nest's and other libraries' exceptions (unknown routes, bad JSON, a failed health
      // check) keep their body's own fields and gain the contract's code.
      const status = exception.getStatus();
      const body = exception.getResponse();
      // Nest's own `error` is the status text (a health check's is an object: kept).
      const { error: statusText, ...fields } = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      if (typeof statusText !== 'string' && statusText !== undefined) fields.error = statusText;
      const message = unparsableBodyMessage(exception) ?? withoutQuery(messageOf(fields.message) ?? exception.message);
      const code = CODE_BY_STATUS.get(status) ?? (status >= 500 ? ErrorCode.INTERNAL : ErrorCode.BAD_REQUEST);
      response.status(status).json({ ...fields, statusCode: status, code, message });
      return;
    } else {
      this.logger.error(`unhandled error: ${(exception as Error)?.message}`, (exception as Error)?.stack);
      error = new RealtimeError(ErrorCode.INTERNAL, 'internal error');
    }
    const statusCode = HTTP_STATUS_BY_ERROR_CODE[error.code];
    response.status(statusCode).json({ statusCode, code: error.code, message: error.message, details: error.details });
  }
}

/** A body's message: a sentence, or the list of sentences of Nest's ValidationPipe (a host's own routes) joined into one. */
function messageOf(message: unknown): string | undefined {
  if (typeof message === 'string') return message;
  if (Array.isArray(message) && message.length > 0 && message.every((item) => typeof item === 'string')) return message.join('; ');
  return undefined;
}

/** The body parser's error, said plainly: it calls `null` or `"x"` invalid JSON, as it takes only objects and arrays. */
function unparsableBodyMessage(exception: HttpException): string | undefined {
  const cause = exception.cause;
  if (!(cause instanceof SyntaxError)) return undefined;
  const { type, body } = cause as SyntaxError & { type?: unknown; body?: unknown };
  if (type !== 'entity.parse.failed') return undefined;
  const text = typeof body === 'string' ? body.trimStart() : '';
  return text.startsWith('{') || text.startsWith('[') ? `the body is not valid JSON: ${cause.message}` : 'the body must be a JSON object';
}

/** Nest's "Cannot GET /path?query" for an unknown route would echo the query, an `access_token` with it. */
function withoutQuery(message: string): string {
  return message.startsWith('Cannot ') ? message.replace(/\?\S*/, '') : message;
}
