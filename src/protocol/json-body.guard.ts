import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { RealtimeError } from './error-codes.js';

/**
 * Refuses a request body that is not JSON. Nest's body parser leaves such a
 * body unread, and the request would go on as if it had none: a grant meant
 * for `{"scope": "support-*"}` sent as text/plain granted the role everywhere.
 */
@Injectable()
export class JsonBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<IncomingMessage>();
    if (!hasBody(request)) return true;
    const type = request.headers['content-type']?.split(';')[0].trim().toLowerCase();
    if (type === 'application/json') return true;
    throw RealtimeError.badRequest(`the body must be JSON, sent with Content-Type: application/json${type ? `, not ${type}` : ''}`);
  }
}

function hasBody({ headers }: IncomingMessage): boolean {
  return (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
}
