import type { ServerResponse } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { Connection } from '../delivery/connection.js';
import { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { GracefulShutdown } from '../gateway/graceful-shutdown.service.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { parseDecimalInteger } from '../protocol/validators.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { SseTransport } from './sse-transport.js';

/** The close code a stream ends with when it is no longer a member of its room (WebSocket's normal closure). */
const STREAM_LEFT_ROOM = 1000;

/**
 * Where a stream resumes: the `Last-Event-ID` header (an `EventSource`
 * reconnecting sends the last `id:` it saw, on the URL it first opened, so
 * the header is the newer of the two), else `?since=`, else nothing.
 */
export function resumePoint(lastEventId: string | undefined, since: number | undefined): number | undefined {
  if (lastEventId === undefined) return since;
  const seq = parseDecimalInteger(lastEventId);
  if (seq === undefined) {
    const message = 'the Last-Event-ID header must be a seq: an integer of at least 0';
    throw RealtimeError.badRequest(message, [{ field: 'Last-Event-ID', constraint: 'integer', message }]);
  }
  return seq;
}

/**
 * `GET /rooms/:room/events`: each stream is a Connection over an
 * `SseTransport`, a member of one room through the same `DeliveryService`
 * join as `room.join` (replay after `since`, then live, cluster-wide through
 * the broker). Everything that ends a socket's membership or the socket
 * (revoke, archive, admin disconnect, token expiry, slow consumer, shutdown)
 * ends the stream.
 */
@Injectable()
export class EventStreamsService {
  private readonly logger = new Logger('RealtimeEventStreams');
  private readonly streams = new WeakSet<Connection>();

  constructor(
    private readonly connections: ConnectionRegistry,
    private readonly delivery: DeliveryService,
    private readonly shutdown: GracefulShutdown,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {
    // A stream is about one room: out of the room, nothing more can come.
    delivery.onMembershipChange((change, membership) => {
      if (change === 'left' && this.streams.has(membership.connection)) {
        membership.connection.close(STREAM_LEFT_ROOM, 'no longer a member of the room');
      }
    });
  }

  /**
   * Joins the room, then starts the stream. A refused join throws before
   * anything is written, so that the request is answered with its status.
   */
  async open(user: AuthenticatedUser, room: string, since: number | undefined, response: ServerResponse): Promise<void> {
    if (this.shutdown.draining) throw RealtimeError.unavailable('the server is restarting; connect to another node');
    const capReached = this.connections.capReached(user);
    if (capReached) throw RealtimeError.rateLimited(capReached);
    // The client went away while the guards ran: its response's close has come and gone.
    if (response.destroyed) throw RealtimeError.unavailable('the client went away before the stream started');
    const transport = new SseTransport(response);
    const connection = this.connections.attach(transport, user);
    this.streams.add(connection);
    transport.onClose(() => this.delivery.disconnected(connection));
    let afterReply: () => Promise<void>;
    try {
      ({ afterReply } = await this.delivery.join(connection, room, since));
      if (!transport.start()) throw RealtimeError.unavailable('the stream was closed before it started');
    } catch (error) {
      connection.close(STREAM_LEFT_ROOM, 'the join was refused');
      // Taken out of the room while joining: the stream began with room.removed and ends with close, which answer the request.
      if (response.headersSent) return;
      throw error;
    }
    connection.closeAtTokenExpiry(user.expiresAt, this.options.auth.clockToleranceSeconds);
    afterReply().catch((error: Error) => this.logger.error(`starting a stream of room ${room}: ${error.message}`, error.stack));
  }
}
