import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { Authenticator } from '../auth/authenticator.service.js';
import { crossSiteCookieRefusal, findToken, missingTokenReason } from '../auth/token-extraction.js';
import { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { ErrorCode, RealtimeError } from '../protocol/error-codes.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { GracefulShutdown } from './graceful-shutdown.service.js';

type RefusalStatus = 401 | 403 | 429 | 503;
export type HandshakeVerdict = { accepted: true } | { accepted: false; status: RefusalStatus; reason: string };

/**
 * Decides each HTTP upgrade before it becomes a socket: a disallowed Origin
 * gets 403, a missing or unusable token 401 (unless first-frame auth is on
 * and no token was offered at all), a user with too many sockets 429, and a
 * server that is shutting down 503.
 */
@Injectable()
export class HandshakeService {
  private readonly logger = new Logger('RealtimeHandshake');
  private readonly users = new WeakMap<IncomingMessage, AuthenticatedUser>();
  private readonly allowedOrigins: ReadonlySet<string>;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly connections: ConnectionRegistry,
    private readonly shutdown: GracefulShutdown,
    @Inject(REALTIME_OPTIONS) readonly options: ResolvedRealtimeOptions,
    private readonly metrics: RealtimeMetrics,
  ) {
    this.allowedOrigins = new Set(options.websocket.allowedOrigins);
  }

  async verify(request: IncomingMessage): Promise<HandshakeVerdict> {
    if (this.shutdown.draining) return this.refuse(503, 'the server is restarting; connect to another node');
    // Browsers always send Origin; a client without one is not a page of another site, and could send any.
    const origin = request.headers.origin;
    if (origin !== undefined && this.allowedOrigins.size > 0 && !this.allowedOrigins.has(origin)) {
      return this.refuse(403, `origin ${origin} is not allowed`);
    }
    try {
      const found = findToken(request, { query: true, cookieName: this.options.auth.cookieName });
      // Cross-site WebSocket hijacking: another site's page opening a socket with the user's cookie.
      const refusal = crossSiteCookieRefusal(found, request, this.allowedOrigins);
      if (refusal) return this.refuse(403, refusal);
      const token = found?.token;
      if (!token && this.options.auth.firstFrameAuth) return { accepted: true };
      if (!token) return this.refuse(401, missingTokenReason(request, { query: true }));
      const user = await this.authenticator.authenticate(token);
      // The shutdown began while the token was checked (a host's UserResolver may take a while).
      if (this.shutdown.draining) return this.refuse(503, 'the server is restarting; connect to another node');
      const capReached = this.connections.capReached(user);
      if (capReached) return this.refuse(429, capReached);
      this.users.set(request, user);
      return { accepted: true };
    } catch (error) {
      if (error instanceof RealtimeError) return this.refuse(error.code === ErrorCode.UNAVAILABLE ? 503 : 401, error.message);
      this.logger.error(`authenticating an upgrade: ${(error as Error).message}`);
      return this.refuse(401, 'the token could not be checked');
    }
  }

  /** The user verified for this upgrade; null when first-frame auth is pending. */
  userOf(request: IncomingMessage): AuthenticatedUser | null {
    return this.users.get(request) ?? null;
  }

  private refuse(status: RefusalStatus, reason: string): HandshakeVerdict {
    this.metrics.upgradeRejected(status);
    this.logger.debug(`upgrade refused with ${status}: ${reason}`);
    return { accepted: false, status, reason };
  }
}
