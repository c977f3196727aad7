import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { Authenticator } from './authenticator.service.js';
import { extractToken } from './token-extraction.js';

export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  url?: string;
  user?: AuthenticatedUser;
}

/** REST routes: the same tokens as the socket, from the header or `access_token`. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly authenticator: Authenticator,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest & { originalUrl?: string }>();
    const token = extractToken(
      { headers: request.headers, url: request.originalUrl ?? request.url },
      this.options.auth.cookieName,
    );
    request.user = await this.authenticator.authenticate(token);
    return true;
  }
}
