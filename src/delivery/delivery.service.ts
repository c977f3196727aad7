import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { AuthorizationService } from '../authorization/authorization.service.js';
import { Permission } from '../authorization/permissions.js';
import { Broker, type ControlMessage, type RoomEvent } from '../broker/broker.js';
import { MessagesService } from '../messages/messages.service.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { CloseCode, ClientEvent, ServerEvent } from '../protocol/events.js';
import { ErrorCode, RealtimeError } from '../protocol/error-codes.js';
import type { HistoryEntry, RoomRemovedPush } from '../protocol/wire.js';
import type { RoomRecord } from '../rooms/rooms.service.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { roomKey } from '../rooms/room-key.js';
import { RoomsService } from '../rooms/rooms.service.js';
import type { Connection } from './connection.js';
import { ConnectionRegistry } from './connection-registry.service.js';
import { RoomChannel, type ChannelSource } from './room-channel.js';
import { RoomMembership } from './room-membership.js';

export type MembershipChange = 'joined' | 'left';
export type MembershipListener = (change: MembershipChange, membership: RoomMembership) => void;
/** Whether this node's members get a room event; false drops it here. */
export type RoomEventScreen = (event: RoomEvent) => boolean;

export interface JoinResult {
  reply: { room: string; lastSeq: number };
  /** To run once the reply is sent: replays what the client missed, then lets live frames through. */
  afterReply: () => Promise<void>;
}

/** The audit entry of a disconnect: its action, and its target's prefix before the user id. */
const DISCONNECT_ACTION = 'user.disconnect';
const USER_TARGET = 'user:';
/** How long a catch-up after an outage waits to read the database again when it could not. */
const CATCH_UP_RETRY_MS = 1000;
const closeByAdmin = (connection: Connection) => connection.close(CloseCode.DISCONNECTED_BY_ADMIN, 'disconnected by an administrator');

/** Messages replayed per read, at most: a page is what one replay holds in memory, and only while it sends. */
const REPLAY_PAGE = 100;
/** A replay waits while more than this is unsent on its socket, and goes on below a quarter of it. */
const REPLAY_PAUSE_BYTES = 65_536;
/**
 * Replay pages read at once on this node; more wait their turn. Only the reads:
 * a replay waiting for its socket to drain must not keep others waiting.
 */
const MAX_CONCURRENT_REPLAY_READS = 32;
/** Rooms whose latest leave each socket remembers (see DeliveryService.leftAt). */
const LEAVES_REMEMBERED = 128;

/**
 * Who receives what on this node: room memberships of the local sockets, the
 * fan-out of room events (each serialised once for all local members), resume
 * with `since`, and the effect of admin changes on live sockets.
 */
@Injectable()
export class DeliveryService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('RealtimeDelivery');
  private readonly channels = new Map<string, RoomChannel>();
  /** Catch-ups after an outage waiting to read the database again. */
  private readonly catchUpRetries = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly membershipListeners: MembershipListener[] = [];
  /** Decides whether this node's members get a room event from the broker (see screenRoomEvents). */
  private roomEventScreen: RoomEventScreen | undefined;
  private readonly replayReads = new Slots(MAX_CONCURRENT_REPLAY_READS);
  /** Per socket, the end of its queue of replays. */
  private readonly replayQueues = new WeakMap<Connection, Promise<void>>();
  /** Memberships whose re-check could not read the permissions, waiting for the retry (recheckLater). */
  private readonly recheckRetries = new Set<RoomMembership>();
  /**
   * The arrival (Connection.framesArrived) of each socket's latest `room.leave`
   * per room. Frames are handled concurrently, and a join's permission check
   * may take longer than the leave sent after it: the leave still has the last
   * word. The most recent LEAVES_REMEMBERED rooms per socket.
   */
  private readonly leftAt = new WeakMap<Connection, Map<string, number>>();
  private readonly channelSource: ChannelSource = {
    lastSeq: (room) => this.rooms.lastSeq(room),
    framesAfter: async (room, seq) =>
      (await this.messages.after(room, seq, REPLAY_PAGE)).map((entry) => ({ seq: entry.seq, frame: replayFrame(entry) })),
  };

  constructor(
    private readonly broker: Broker,
    private readonly rooms: RoomsService,
    private readonly messages: MessagesService,
    private readonly authorization: AuthorizationService,
    private readonly connections: ConnectionRegistry,
    private readonly audit: AuditService,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly metrics: RealtimeMetrics,
  ) {
    broker.onRoomEvent((event) => {
      if (this.roomEventScreen?.(event) !== false) this.fanOut(event);
    });
    broker.onControl((message) => this.applyControl(message));
    // Back in touch with the other nodes: read what they stored and archived meanwhile, re-check every membership.
    broker.onReconnect(() => {
      for (const channel of this.channels.values()) {
        void channel.catchUp();
        void this.recheckArchived(channel);
      }
      this.recheck(this.connections.all);
      void this.catchUpDisconnects();
    });
    authorization.onPermissionsChanged((tenantId, userId) =>
      this.recheck(userId !== undefined ? this.connections.ofUser(tenantId, userId) : this.connections.authenticatedIn(tenantId)),
    );
  }

  onMembershipChange(listener: MembershipListener): void {
    this.membershipListeners.push(listener);
  }

  /** Every room event from the broker, from any node, passes `screen` before this node's members get it. */
  screenRoomEvents(screen: RoomEventScreen): void {
    this.roomEventScreen = screen;
  }

  /** Hands a room event to this node's members only, unscreened: what they alone missed. */
  deliverHere(event: RoomEvent): void {
    this.fanOut(event);
  }

  /**
   * Makes the socket a member; live frames wait until the reply has gone out
   * and, with `since`, until every stored message after `since` is replayed.
   * `arrival`: the join frame's number on its socket, to tell whether a leave came after it.
   */
  async join(connection: Connection, roomName: string, since: number | undefined, requestId?: string, arrival?: number): Promise<JoinResult> {
    const user = connection.user!;
    this.assertRoomForOneMore(connection, roomKey(user.tenantId, roomName));
    const room = await this.rooms.open(user.tenantId, roomName);
    if (connection.ended) throw socketGone();
    // Again: other joins of this socket may have made memberships while this one opened the room.
    this.assertRoomForOneMore(connection, room.key);
    let membership = connection.membershipIn(room.key);
    const channel = this.channelFor(room);
    if (!membership) {
      membership = new RoomMembership(connection, room);
      connection.addMembership(membership);
      channel.members.add(membership);
      this.notify('joined', membership);
    }
    if (arrival !== undefined && arrival > membership.joinArrival) membership.joinArrival = arrival;
    membership.hold();
    let lastSeq: number;
    try {
      await channel.ready;
      // Checked again now that the membership exists: a revoke before this point shows in
      // freshly loaded permissions, and one after it reaches the membership through recheck().
      await this.authorization.assertAny(user, [Permission.ROOM_JOIN], room.name);
      if (connection.ended) throw socketGone();
      // From the channel, not the database: a join storm read the room's row once per member.
      lastSeq = channel.lastDelivered;
      // Past what this node has handed out: messages another node stored that are still on their
      // way here (the client had them from that node), or more than the room ever stored.
      if (since !== undefined && since > lastSeq) {
        lastSeq = await this.rooms.lastSeq(room);
        if (connection.ended) throw socketGone();
      }
      // Taken out while this join waited: an answer, not a reply for a membership that is gone.
      if (!membership.active && !this.leftAfter(connection, roomName, arrival)) throw removedWhileJoining(membership);
    } catch (error) {
      membership.release();
      // Unless a join made it (its reply went out) or a later join may still make it.
      if (!membership.confirmed && !(arrival !== undefined && membership.joinArrival > arrival)) this.removeMembership(membership);
      throw error;
    }
    if (this.leftAfter(connection, roomName, arrival)) {
      // Joined, then left by a frame that followed, whichever finished first; unless a later join keeps it.
      if (this.leftAfter(connection, roomName, membership.joinArrival)) this.removeMembership(membership);
      membership.release();
      return { reply: { room: roomName, lastSeq }, afterReply: async () => undefined };
    }
    // Only now, so that a join that fails leaves a replay of an earlier one running.
    const replayId = since !== undefined ? membership.beginReplay(since) : undefined;
    // The client has everything up to `since`: those messages are not sent again when they arrive live.
    // Without `since`, live messages start after `lastSeq`; a socket already in the room keeps
    // what it is getting (frames held meanwhile, a replay under way).
    if (since !== undefined) membership.skipTo(Math.min(since, lastSeq));
    else if (!membership.confirmed) membership.skipTo(lastSeq);
    membership.confirmed = true;
    const joined = membership;
    return {
      reply: { room: roomName, lastSeq },
      afterReply: async () => {
        try {
          if (replayId !== undefined) await this.queueReplay(joined, since!, replayId, requestId);
        } finally {
          joined.release();
        }
      },
    };
  }

  private assertRoomForOneMore(connection: Connection, key: string): void {
    const { maxRoomsPerSocket } = this.options.websocket;
    if (connection.membershipCount >= maxRoomsPerSocket && !connection.membershipIn(key)) {
      throw RealtimeError.rateLimited(`this socket is in ${maxRoomsPerSocket} rooms, the most allowed; leave one first`);
    }
  }

  /** Idempotent: leaving a room the socket is not in is not an error. `arrival`: see join. */
  leave(connection: Connection, roomName: string, arrival?: number): { room: string } {
    if (arrival !== undefined) {
      let left = this.leftAt.get(connection);
      if (!left) this.leftAt.set(connection, (left = new Map()));
      left.delete(roomName);
      left.set(roomName, arrival);
      if (left.size > LEAVES_REMEMBERED) left.delete(left.keys().next().value as string);
    }
    const membership = connection.membershipIn(roomKey(connection.user!.tenantId, roomName));
    // Made or kept by a join sent after this leave: that join has the last word.
    if (membership && !(arrival !== undefined && membership.joinArrival > arrival)) this.removeMembership(membership);
    return { room: roomName };
  }

  private leftAfter(connection: Connection, roomName: string, arrival: number | undefined): boolean {
    return arrival !== undefined && (this.leftAt.get(connection)?.get(roomName) ?? 0) > arrival;
  }

  /**
   * Closes the user's sockets on every node with 4003 (they may reconnect
   * unless their roles say otherwise). The audit entry is also how a node out
   * of touch meanwhile learns of it (catchUpDisconnects).
   */
  async disconnectUser(actor: AuthenticatedUser, userId: string): Promise<void> {
    await this.audit.recordAlone(actor, DISCONNECT_ACTION, `${USER_TARGET}${userId}`);
    await this.broker.publishControl({ type: 'user.disconnect', tenantId: actor.tenantId, userId });
  }

  /** A closed socket or stream: out of every room and out of the registry. */
  disconnected(connection: Connection): void {
    connection.ended = true;
    connection.cancelScheduledClose();
    for (const membership of connection.memberships()) this.removeMembership(membership);
    this.connections.remove(connection);
  }

  /**
   * Calls `onMessage` with the `seq` of each of the room's messages that
   * reaches this node from now on, sent on any node, in order (long polls).
   * Resolves, with the function that stops it, once the node receives them.
   */
  async watchMessages(room: RoomRecord, onMessage: (seq: number) => void): Promise<() => void> {
    const channel = this.channelFor(room);
    channel.messageWatchers.add(onMessage);
    const stop = () => {
      channel.messageWatchers.delete(onMessage);
      this.closeIfIdle(channel);
    };
    try {
      await channel.ready;
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  /** Serialises the event once for all of this node's members of the room. */
  private fanOut(event: RoomEvent): void {
    const channel = this.channels.get(event.roomKey);
    if (!channel) return;
    channel.push(JSON.stringify({ event: event.event, data: event.data }), event.seq, event.excludeConnectionId, event.aboutSeq, event.excludeUserId);
    this.metrics.frameOut(event.event, channel.members.size);
    const { sentAt } = event.data as { sentAt?: unknown };
    if (event.seq !== undefined && typeof sentAt === 'string') this.metrics.delivered(Date.parse(sentAt));
  }

  private channelFor(room: RoomRecord): RoomChannel {
    let channel = this.channels.get(room.key);
    if (!channel) {
      channel = new RoomChannel(room, this.channelSource, this.broker.watchRoom(room.key), (error) =>
        this.logger.warn(`catching up with room ${room.name}: ${error.message}`),
      );
      this.channels.set(room.key, channel);
    }
    return channel;
  }

  /** One replay at a time per socket. */
  private queueReplay(membership: RoomMembership, since: number, replayId: number, requestId: string | undefined): Promise<void> {
    const { connection } = membership;
    const previous = this.replayQueues.get(connection) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.replay(membership, since, replayId, requestId));
    this.replayQueues.set(connection, next);
    return next;
  }

  private async replay(membership: RoomMembership, since: number, replayId: number, requestId: string | undefined): Promise<void> {
    const { connection } = membership;
    let cursor = since;
    let pageSize = REPLAY_PAGE;
    try {
      for (;;) {
        // Paced by the socket: a long history never piles up in memory, large messages do not push a
        // slow reader over its buffer limit (4009), and pings are not stuck behind them.
        if (connection.bufferedAmount > REPLAY_PAUSE_BYTES) await connection.drained(REPLAY_PAUSE_BYTES / 4);
        if (!membership.isCurrentReplay(replayId)) return;
        const entries = await this.replayReads.run(() => this.messages.after(membership.room, cursor, pageSize));
        let sent = 0;
        for (const entry of entries) {
          if (sent > 0 && connection.bufferedAmount > REPLAY_PAUSE_BYTES) break;
          if (!membership.isCurrentReplay(replayId)) return;
          membership.sendReplayed(replayFrame(entry), entry.seq);
          this.metrics.frameOut(ServerEvent.MESSAGE);
          cursor = entry.seq;
          sent++;
        }
        if (sent === entries.length && entries.length < pageSize) return;
        // The socket fell behind within the page: the rest is let go rather than held while it drains (a
        // page of large messages is megabytes, per waiting socket), and read again after, as much as went
        // out this time. Pages grow back while the socket keeps up.
        const keptUp = sent === entries.length && connection.bufferedAmount <= REPLAY_PAUSE_BYTES;
        pageSize = keptUp ? Math.min(REPLAY_PAGE, pageSize * 2) : sent;
        // Let other sockets' frames in between pages (SQLite reads are synchronous).
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      // Stopped by a later join (which replays for itself) or by the socket's close: nothing to tell.
      if (!membership.isCurrentReplay(replayId)) return;
      // A member with a silent gap would be worse than no member: tell the client and let it join again.
      this.logger.warn(`replay of room ${membership.room.name} stopped: ${(error as Error).message}`);
      membership.connection.replyError(
        ClientEvent.ROOM_JOIN,
        requestId,
        ErrorCode.UNAVAILABLE,
        `replaying room ${membership.room.name} failed after seq ${cursor}; join again with since`,
      );
      this.remove(membership);
    }
  }

  private applyControl(message: ControlMessage): void {
    if (message.type === 'room.changed' && message.archived) {
      this.removeAll(this.channels.get(message.roomKey), 'archived');
    } else if (message.type === 'user.disconnect') {
      for (const connection of [...this.connections.ofUser(message.tenantId, message.userId)]) closeByAdmin(connection);
    }
  }

  /** After draining has begun (GracefulShutdown), before the database closes: no more catch-up reads. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    for (const timer of this.catchUpRetries) clearTimeout(timer);
  }

  /**
   * A catch-up after an outage, or a permission re-check, that failed: again
   * a second later if the database could not be read (it may come back after
   * Redis), not if it answered (a room that is not there any more).
   */
  private catchUpLater(what: string, error: unknown, work: () => Promise<void>): void {
    if (!isStorageFailure(error)) return this.logger.warn(`${what}: ${(error as Error).message}`);
    if (this.stopped) return;
    this.logger.warn(`${what}: ${(error as Error).message}; reading again in ${CATCH_UP_RETRY_MS} ms`);
    const timer = setTimeout(() => {
      this.catchUpRetries.delete(timer);
      void work();
    }, CATCH_UP_RETRY_MS);
    this.catchUpRetries.add(timer);
  }

  /**
   * Disconnects said while this node was out of touch were missed: each
   * socket authenticated before the latest disconnect of its user is closed,
   * as it would have been. The times are the nodes' clocks.
   */
  private async catchUpDisconnects(): Promise<void> {
    let oldest = Infinity;
    for (const connection of this.connections.all) if (connection.user) oldest = Math.min(oldest, connection.authenticatedAt);
    if (oldest === Infinity) return;
    try {
      for (const { tenantId, target, at } of await this.audit.latestByTarget(DISCONNECT_ACTION, oldest)) {
        for (const connection of [...this.connections.ofUser(tenantId, target.slice(USER_TARGET.length))]) {
          if (connection.authenticatedAt < at) closeByAdmin(connection);
        }
      }
    } catch (error) {
      this.catchUpLater('catching up with disconnects', error, () => this.catchUpDisconnects());
    }
  }

  /** An archive announced while this node was out of touch was missed: the room's row tells. */
  private async recheckArchived(channel: RoomChannel): Promise<void> {
    // Closed meanwhile, its last member gone: nothing to take out.
    if (this.channels.get(channel.room.key) !== channel) return;
    try {
      // The rooms' cache was cleared on the same reconnect: this reads the row.
      const room = await this.rooms.find(channel.room.tenantId, channel.room.name);
      if (room.archived) this.removeAll(channel, 'archived');
    } catch (error) {
      this.catchUpLater(`re-checking whether room ${channel.room.name} was archived`, error, () => this.recheckArchived(channel));
    }
  }

  private removeAll(channel: RoomChannel | undefined, reason: RoomRemovedPush['reason']): void {
    for (const membership of [...(channel?.members ?? [])]) this.remove(membership, reason);
  }

  /** After a permission change, every affected membership is held until `room.join` is confirmed. */
  private recheck(affected: Iterable<Connection>): void {
    for (const connection of affected) {
      if (!connection.user) continue;
      for (const membership of connection.memberships()) this.recheckMembership(membership);
    }
  }

  /** Checked again while the permissions cannot be read: a revoke must not be forgotten in an outage. */
  private recheckMembership(membership: RoomMembership): void {
    membership.hold();
    this.authorization
      .can(membership.connection.user!, Permission.ROOM_JOIN, membership.room.name)
      .then(
        (allowed) => {
          if (!allowed) this.remove(membership, 'forbidden');
        },
        (error: unknown) => this.recheckLater(membership, error),
      )
      .finally(() => membership.release());
  }

  /** Re-checks that could not read the permissions wait together for one retry (an outage fails them all at once). */
  private recheckLater(membership: RoomMembership, error: unknown): void {
    if (!isStorageFailure(error)) return this.logger.warn(`re-checking room ${membership.room.name}: ${(error as Error).message}`);
    const first = this.recheckRetries.size === 0;
    this.recheckRetries.add(membership);
    if (!first) return;
    this.catchUpLater('re-checking memberships', error, async () => {
      const waiting = [...this.recheckRetries];
      this.recheckRetries.clear();
      for (const retried of waiting) if (retried.active) this.recheckMembership(retried);
    });
  }

  /** Takes the socket out of the room and, given a reason, tells it why (first: an event stream ends when its membership does). */
  private remove(membership: RoomMembership, reason?: RoomRemovedPush['reason']): void {
    if (!membership.active) return;
    if (reason) {
      membership.removedFor = reason;
      const push: RoomRemovedPush = { room: membership.room.name, reason };
      membership.connection.send(JSON.stringify({ event: ServerEvent.ROOM_REMOVED, data: push }));
    }
    this.removeMembership(membership);
  }

  private removeMembership(membership: RoomMembership): void {
    if (!membership.active) return;
    membership.active = false;
    membership.connection.removeMembership(membership);
    const channel = this.channels.get(membership.room.key);
    if (channel) {
      channel.members.delete(membership);
      this.closeIfIdle(channel);
    }
    this.notify('left', membership);
  }

  /** A channel nobody on this node listens to any more stops watching the room. */
  private closeIfIdle(channel: RoomChannel): void {
    if (channel.members.size > 0 || channel.messageWatchers.size > 0 || this.channels.get(channel.room.key) !== channel) return;
    channel.close();
    this.channels.delete(channel.room.key);
    this.broker.unwatchRoom(channel.room.key);
  }

  private notify(change: MembershipChange, membership: RoomMembership): void {
    for (const listener of this.membershipListeners) listener(change, membership);
  }
}

/** A counting semaphore. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** A failure of the database, not an answer from it (a room that is not there). */
function isStorageFailure(error: unknown): boolean {
  return !(error instanceof RealtimeError) || error.code === ErrorCode.UNAVAILABLE;
}

function socketGone(): RealtimeError {
  return RealtimeError.unavailable('the socket closed');
}

function removedWhileJoining({ room, removedFor }: RoomMembership): RealtimeError {
  if (removedFor === 'archived') return RealtimeError.notFound(`room ${room.name} was archived`);
  if (removedFor === 'forbidden') return RealtimeError.forbidden(`joining room ${room.name} is no longer allowed`);
  return RealtimeError.conflict(`room ${room.name} was left while the join was in progress; join again`);
}

/** Every stored message is replayed as a `message` frame, a deleted one as history shows it (`{room, seq, deleted: true}`). */
function replayFrame(entry: HistoryEntry): string {
  return JSON.stringify({ event: ServerEvent.MESSAGE, data: entry });
}
