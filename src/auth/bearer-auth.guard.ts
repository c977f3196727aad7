import { Inject, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RealtimeError } from '../protocol/error-codes.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import type { AuthenticatedUser } from './authenticated-user.js';
import { Authenticator } from './authenticator.service.js';
import { crossSiteCookieRefusal, findToken, missingTokenReason, type TokenSources } from './token-extraction.js';

export interface AuthenticatedRequest {
  headers: Record<string, string | string[] | undefined>;
  method?: string;
  url?: string;
  user?: AuthenticatedUser;
}

const TOKEN_FROM_QUERY_OR_COOKIE = 'realtime:token-from-query-or-cookie';

/**
 * The route also takes its token where the socket does (for clients that
 * cannot set headers, like `EventSource`): the `access_token` query parameter
 * and, on GET only, the cookie named by WS_AUTH_COOKIE, which other sites'
 * forms could otherwise post with.
 */
export const TokenFromQueryOrCookie = () => SetMetadata(TOKEN_FROM_QUERY_OR_COOKIE, true);

/**
 * REST routes: the same tokens as the socket, as a bearer token in the
 * Authorization header (admin tokens stay out of URLs and access logs), or
 * also in the query and cookie where `@TokenFromQueryOrCookie()` says so.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly allowedOrigins: ReadonlySet<string>;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly reflector: Reflector,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {
    this.allowedOrigins = new Set(options.websocket.allowedOrigins);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest & { originalUrl?: string }>();
    const likeSocket = this.reflector.getAllAndOverride<boolean | undefined>(TOKEN_FROM_QUERY_OR_COOKIE, [
      context.getHandler(),
      context.getClass(),
    ]);
    const sources: TokenSources = likeSocket
      ? { query: true, cookieName: request.method === 'GET' ? this.options.auth.cookieName : undefined }
      : { query: false };
    const carrier = { headers: request.headers, url: request.originalUrl ?? request.url };
    const found = findToken(carrier, sources);
    if (!found) throw RealtimeError.unauthorized(missingTokenReason(carrier, sources));
    const refusal = crossSiteCookieRefusal(found, request, this.allowedOrigins);
    if (refusal) throw RealtimeError.forbidden(refusal);
    request.user = await this.authenticator.authenticate(found.token);
    return true;
  }
}
