import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { AuthorizationService } from '../authorization/authorization.service.js';
import { Permission } from '../authorization/permissions.js';
import { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { GracefulShutdown } from '../gateway/graceful-shutdown.service.js';
import { MessagesService } from '../messages/messages.service.js';
import { RealtimeError } from '../protocol/error-codes.js';
import type { HistoryPage } from '../protocol/wire.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { RoomsService } from '../rooms/rooms.service.js';

export interface PollQuery {
  after: number;
  timeoutSeconds: number;
  limit?: number;
}

interface PendingPoll {
  /** Makes the poll answer now, with whatever it has. */
  end(): void;
  /** Resolves once the poll's request is over (answered, or the client went away). */
  requestOver: Promise<void>;
}

/**
 * `GET /rooms/:room/poll`: the room's messages after `after`, at once if
 * there are any, else as soon as one arrives (on any node: the wait hangs on
 * the same room fan-out as sockets), else an empty page at the timeout.
 */
@Injectable()
export class LongPollService implements BeforeApplicationShutdown {
  private readonly pending = new Set<PendingPoll>();
  private stopping = false;

  constructor(
    private readonly rooms: RoomsService,
    private readonly messages: MessagesService,
    private readonly delivery: DeliveryService,
    private readonly authorization: AuthorizationService,
    private readonly shutdown: GracefulShutdown,
    private readonly connections: ConnectionRegistry,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  /** `requestOver` resolves when the request ends early (the client went away): the wait stops. */
  async poll(user: AuthenticatedUser, roomName: string, query: PollQuery, requestOver: Promise<void>): Promise<HistoryPage> {
    if (this.stopping || this.shutdown.draining) throw RealtimeError.unavailable('the server is restarting; poll another node');
    const capReached = this.connections.capReached(user);
    if (capReached) throw RealtimeError.rateLimited(capReached);
    const done = this.connections.pollWaiting(user);
    try {
      return await this.pollRoom(user, roomName, query, requestOver);
    } finally {
      done();
    }
  }

  private async pollRoom(user: AuthenticatedUser, roomName: string, query: PollQuery, requestOver: Promise<void>): Promise<HistoryPage> {
    // Like room.join: the room is created on first use, an archived one is NOT_FOUND.
    const room = await this.rooms.open(user.tenantId, roomName);
    let newest = 0;
    let onArrival: (() => void) | undefined;
    const stopWatching = await this.delivery.watchMessages(room, (seq) => {
      newest = Math.max(newest, seq);
      onArrival?.();
    });
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const poll: PendingPoll = { end, requestOver };
    // Not past the token's expiry: a socket is closed then, and a poll answers.
    const timer = setTimeout(end, Math.min(query.timeoutSeconds * 1000, user.expiresAt * 1000 - Date.now()));
    const over = Promise.race([ended, requestOver]).then(() => 'over' as const);
    this.pending.add(poll);
    try {
      for (;;) {
        // Watching began first: whatever is stored after this read began arrives as a wake-up,
        // and what arrived before it began is in the page.
        const known = newest;
        const page = await this.messages.history(user, roomName, { after: query.after, limit: query.limit });
        if (page.messages.length > 0 || this.stopping) return page;
        const threshold = Math.max(query.after, known);
        const arrived = new Promise<'message'>((resolve) => {
          onArrival = () => newest > threshold && resolve('message');
          onArrival();
        });
        if ((await Promise.race([arrived, over])) === 'over') return page;
        // Access may have been revoked while this poll waited.
        await this.authorization.assertAny(user, [Permission.ROOM_JOIN], roomName);
      }
    } finally {
      clearTimeout(timer);
      stopWatching();
      this.pending.delete(poll);
    }
  }

  /**
   * The first stop step of a shutdown, once GracefulShutdown drains (new polls
   * get UNAVAILABLE): pending polls answer now (with what they have) while the
   * server still writes responses, so that it does not wait for their timeouts.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const polls = [...this.pending];
    for (const poll of polls) poll.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(polls.map((poll) => poll.requestOver)),
      new Promise((resolve) => (timer = setTimeout(resolve, this.options.websocket.shutdownTimeoutMs).unref())),
    ]);
    clearTimeout(timer);
  }
}
