import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { AuthenticatedUser } from './authenticated-user.js';
import { Authenticator } from './authenticator.service.js';
import { extractToken } from './token-extraction.js';

export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  url?: string;
  user?: AuthenticatedUser;
}

/**
 * REST routes: the same tokens as the socket, as a bearer token in the
 * Authorization header (admin tokens stay out of URLs and access logs).
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(private readonly authenticator: Authenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest & { originalUrl?: string }>();
    const token = extractToken({ headers: request.headers, url: request.originalUrl ?? request.url }, { query: false });
    request.user = await this.authenticator.authenticate(token);
    return true;
  }
}
