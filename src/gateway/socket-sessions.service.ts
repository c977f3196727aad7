import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { WebSocket } from 'ws';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { Authenticator } from '../auth/authenticator.service.js';
import type { Connection } from '../delivery/connection.js';
import { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { HostEvents } from '../events/host-events.service.js';
import { RealtimeEvents } from '../events/realtime-events.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { CloseCode } from '../protocol/events.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { HandshakeService } from './handshake.service.js';

/**
 * A socket's life from the upgrade to the close: who it belongs to, the
 * first-frame `auth`, token refresh, and the close at the token's `exp`.
 */
@Injectable()
export class SocketSessionsService {
  /** Per socket, the arrival (FrameContext.arrival) of the `auth.refresh` its token now comes from. */
  private readonly refreshedBy = new WeakMap<Connection, number>();

  constructor(
    private readonly handshake: HandshakeService,
    private readonly authenticator: Authenticator,
    private readonly connections: ConnectionRegistry,
    private readonly delivery: DeliveryService,
    private readonly hostEvents: HostEvents,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  opened(socket: WebSocket, request: IncomingMessage): void {
    const user = this.handshake.userOf(request);
    const connection = this.connections.open(socket, user);
    if (user) {
      this.started(connection, user);
    } else {
      // First-frame auth: the `auth` frame must come within the timeout.
      connection.closeAt(Date.now() + this.options.auth.firstFrameAuthTimeoutMs, CloseCode.UNAUTHORIZED, 'no valid auth frame in time');
    }
  }

  closed(connection: Connection, code: number | undefined): void {
    this.delivery.disconnected(connection);
    if (connection.user) {
      this.hostEvents.emit(RealtimeEvents.SOCKET_CLOSED, {
        connectionId: connection.id,
        userId: connection.user.id,
        tenantId: connection.user.tenantId,
        code,
      });
    }
  }

  /** The first-frame `auth`: a bad token closes the socket with 4001. */
  async authenticate(connection: Connection, token: string): Promise<{ user: { id: string; name: string }; exp: number }> {
    if (connection.user) throw alreadyAuthenticated();
    let user: AuthenticatedUser;
    try {
      user = await this.authenticator.authenticate(token);
    } catch (error) {
      setImmediate(() => connection.close(CloseCode.UNAUTHORIZED, 'invalid token'));
      throw error;
    }
    if (connection.ended) throw RealtimeError.unavailable('the socket closed');
    // Another `auth` frame of this socket, handled meanwhile, got there first.
    if (connection.user) throw alreadyAuthenticated();
    const capReached = this.connections.capReached(user);
    if (capReached) {
      setImmediate(() => connection.close(CloseCode.POLICY_VIOLATION, 'too many sockets for this user'));
      throw RealtimeError.rateLimited(capReached);
    }
    this.connections.authenticated(connection, user);
    this.started(connection, user);
    return { user: { id: user.id, name: user.name }, exp: user.expiresAt };
  }

  /**
   * `auth.refresh`: a valid token of the same user replaces the socket's, and
   * its `exp` becomes the socket's deadline, later or earlier than the old
   * one: the socket lives as long as the latest token its client sent, as a
   * new socket opened with that token would (an identity provider that
   * issues a shorter token, at a session's end or after a step-down, ends the
   * socket with it). An expired, invalid or foreign token changes nothing.
   * Of two refreshes in flight, the one sent last wins, whichever token is
   * verified first (a host's UserResolver may answer in any order); the
   * other's reply gives the deadline that stands. The reply's `exp` is
   * always the socket's deadline.
   */
  async refresh(connection: Connection, token: string, arrival: number): Promise<{ exp: number }> {
    const current = connection.user!;
    const next = await this.authenticator.authenticate(token);
    if (next.id !== current.id || next.tenantId !== current.tenantId) {
      throw RealtimeError.forbidden('the new token is for another user');
    }
    // Closed while the token was checked: a deadline now would hold the gone socket until it fell due.
    if (connection.ended) throw RealtimeError.unavailable('the socket closed');
    const user = connection.user!;
    if (arrival < (this.refreshedBy.get(connection) ?? 0)) return { exp: user.expiresAt };
    this.refreshedBy.set(connection, arrival);
    connection.user = { ...user, name: next.name, expiresAt: next.expiresAt };
    this.scheduleExpiry(connection, next.expiresAt);
    return { exp: next.expiresAt };
  }

  private started(connection: Connection, user: AuthenticatedUser): void {
    this.scheduleExpiry(connection, user.expiresAt);
    this.hostEvents.emit(RealtimeEvents.SOCKET_OPENED, { connectionId: connection.id, userId: user.id, tenantId: user.tenantId });
  }

  private scheduleExpiry(connection: Connection, expiresAt: number): void {
    connection.closeAtTokenExpiry(expiresAt, this.options.auth.clockToleranceSeconds);
  }
}

function alreadyAuthenticated(): RealtimeError {
  return RealtimeError.badRequest('this socket is already authenticated; use auth.refresh to replace its token');
}
