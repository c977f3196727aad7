import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import type { ErrorCode, ErrorDetail } from '../protocol/error-codes.js';
import { CloseCode, ServerEvent } from '../protocol/events.js';
import { Deadlines } from './deadlines.js';
import type { RoomMembership } from './room-membership.js';
import type { Transport } from './transport.js';

/** How often a paced sender looks whether the socket's buffer has drained. */
const DRAIN_POLL_MS = 10;
/** A socket that drains nothing for this long while a paced sender waits is a slow consumer (one that reads nothing would hold the sender for ever). */
const DRAIN_TIMEOUT_MS = 30_000;
/** How long a socket may stay over its buffer limit before it counts as a slow consumer. */
const SLOW_CONSUMER_GRACE_MS = 1000;
/** Past this multiple of the limit a socket is closed at once: memory comes first. */
const HARD_LIMIT_FACTOR = 16;
/** Every connection's scheduled close (token expiry, first-frame auth), sharing a timer per due time. */
const scheduledCloses = new Deadlines<Connection>((connection) => connection.closeAsScheduled());

/** One client socket (or event stream, see Transport) and what the server knows of it. */
export class Connection {
  /** null until a first-frame `auth` succeeds. */
  user: AuthenticatedUser | null;
  /** The rooms this socket receives: the membership itself while there is one (a Map cost each socket a fifth of a kilobyte), else by room key. */
  private rooms: RoomMembership | Map<string, RoomMembership> | undefined;
  /** Set once the socket's close was handled: work finishing later must not attach anything to it. */
  ended = false;
  /** Frames its memberships hold for it (during replays and permission re-checks), in UTF-16 units. */
  heldBytes = 0;
  private closedPromise: Promise<void> | undefined;
  /** The scheduled close: when (ms since the epoch), with what code and reason. */
  private closeDueAt: number | undefined;
  private scheduledCloseCode = 0;
  private scheduledCloseReason = '';
  private backlogTimer: NodeJS.Timeout | undefined;
  private missedPongs = 0;
  /** Which of the heartbeat's ticks pings it; -1 until HeartbeatService assigns one. */
  heartbeatSlot = -1;
  /** Frames received so far: a frame's number tells which of two came first, as handling them may finish in either order. */
  framesArrived = 0;
  /**
   * When its user was authenticated (ms since the epoch: at the upgrade, or
   * at a first-frame `auth`): a disconnect of that user said before then
   * does not close it.
   */
  authenticatedAt = Date.now();

  constructor(
    readonly id: string,
    private readonly transport: Transport,
    user: AuthenticatedUser | null,
    /** Past this many queued bytes the socket is a slow consumer and is closed with 4009. */
    readonly maxBufferedBytes: number,
    private readonly metrics?: RealtimeMetrics,
  ) {
    this.user = user;
    transport.attach(this);
  }

  membershipIn(roomKey: string): RoomMembership | undefined {
    const rooms = this.rooms;
    if (rooms instanceof Map) return rooms.get(roomKey);
    return rooms?.room.key === roomKey ? rooms : undefined;
  }

  get membershipCount(): number {
    const rooms = this.rooms;
    return rooms instanceof Map ? rooms.size : rooms ? 1 : 0;
  }

  /** A copy: memberships may be removed while it is walked. */
  memberships(): RoomMembership[] {
    const rooms = this.rooms;
    return rooms instanceof Map ? [...rooms.values()] : rooms ? [rooms] : [];
  }

  addMembership(membership: RoomMembership): void {
    const rooms = this.rooms;
    if (rooms === undefined) this.rooms = membership;
    else if (rooms instanceof Map) rooms.set(membership.room.key, membership);
    else this.rooms = new Map([[rooms.room.key, rooms], [membership.room.key, membership]]);
  }

  removeMembership(membership: RoomMembership): void {
    const rooms = this.rooms;
    if (rooms === membership) this.rooms = undefined;
    else if (rooms instanceof Map && rooms.get(membership.room.key) === membership) rooms.delete(membership.room.key);
  }

  get isOpen(): boolean {
    return this.transport.isOpen;
  }

  /**
   * Resolves when the socket has closed; for a connection still registered
   * (its close not yet handled). Made on demand: only a shutdown waits for
   * it, and idle sockets should not each carry a promise.
   */
  get closed(): Promise<void> {
    return (this.closedPromise ??= new Promise((resolve) => this.transport.onClose(resolve)));
  }

  /**
   * Sends an already serialised frame (`seq` when it stands at a room
   * message's place); a closing socket drops it. A socket whose unsent data
   * stays over its limit (one big reply or a burst is fine; a reader that
   * does not keep up is not) is closed with 4009 rather than left to grow,
   * and at once far over it.
   */
  send(frame: string, seq?: number): void {
    if (!this.transport.isOpen) return;
    this.transport.send(frame, seq);
    this.checkBacklog();
  }

  /** Unsent data plus held frames, against the limit. */
  checkBacklog(): void {
    const backlog = this.transport.bufferedAmount + this.heldBytes;
    if (backlog <= this.maxBufferedBytes) return;
    if (backlog > this.maxBufferedBytes * HARD_LIMIT_FACTOR) return this.closeSlowConsumer();
    this.backlogTimer ??= setTimeout(() => {
      this.backlogTimer = undefined;
      if (this.transport.bufferedAmount + this.heldBytes > this.maxBufferedBytes) this.closeSlowConsumer();
    }, SLOW_CONSUMER_GRACE_MS).unref();
  }

  /** Returns the frame's length, in UTF-16 units. */
  reply(event: string, id: string | undefined, data: unknown): number {
    this.metrics?.frameOut(event);
    const frame = JSON.stringify({ event, id, data });
    this.send(frame);
    return frame.length;
  }

  replyError(event: string | undefined, id: string | undefined, code: ErrorCode, message: string, details?: ErrorDetail[]): void {
    this.metrics?.error(code);
    this.send(JSON.stringify({ event: ServerEvent.ERROR, id, data: { code, message, event, details } }));
  }

  close(code: number, reason: string): void {
    this.cancelScheduledClose();
    clearTimeout(this.backlogTimer);
    this.transport.close(code, reason);
  }

  /** Ends the socket without a closing handshake (a peer that stopped answering). */
  terminate(): void {
    this.transport.terminate();
  }

  /** Pings the peer; false (and the socket terminated) when it missed the two pings before. */
  heartbeat(): boolean {
    if (this.missedPongs >= 2) {
      this.terminate();
      return false;
    }
    this.missedPongs++;
    if (this.transport.isOpen) this.transport.ping();
    return true;
  }

  /** The peer answered a heartbeat. */
  pongReceived(): void {
    this.missedPongs = 0;
  }

  private closeSlowConsumer(): void {
    this.close(CloseCode.SLOW_CONSUMER, 'slow consumer: too much unread data; reconnect and resume with since');
  }

  /**
   * Resolves once at most `bytes` wait to be written, or the socket is gone:
   * for senders that can wait (replays). A socket that drains nothing for
   * DRAIN_TIMEOUT_MS meanwhile is closed as a slow consumer (4009).
   */
  async drained(bytes: number): Promise<void> {
    let deadline = Date.now() + DRAIN_TIMEOUT_MS;
    let unsent = this.transport.bufferedAmount;
    while (this.transport.isOpen && this.transport.bufferedAmount > bytes) {
      if (this.transport.bufferedAmount < unsent) {
        unsent = this.transport.bufferedAmount;
        deadline = Date.now() + DRAIN_TIMEOUT_MS;
      }
      if (Date.now() >= deadline) return this.closeSlowConsumer();
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  get bufferedAmount(): number {
    return this.transport.bufferedAmount;
  }

  /** Closes the connection at `deadline` (milliseconds since the epoch), replacing any earlier schedule. */
  closeAt(deadline: number, code: number, reason: string): void {
    this.cancelScheduledClose();
    this.closeDueAt = deadline;
    this.scheduledCloseCode = code;
    this.scheduledCloseReason = reason;
    scheduledCloses.add(deadline, this);
  }

  /** Closes with 4001 at the token's `exp`: tokens are accepted up to the clock tolerance past it, and so is the connection. */
  closeAtTokenExpiry(expiresAt: number, clockToleranceSeconds: number): void {
    this.closeAt((expiresAt + clockToleranceSeconds) * 1000, CloseCode.UNAUTHORIZED, 'token expired');
  }

  /** @internal Called by the schedule when the close is due. */
  closeAsScheduled(): void {
    this.closeDueAt = undefined;
    this.close(this.scheduledCloseCode, this.scheduledCloseReason);
  }

  cancelScheduledClose(): void {
    if (this.closeDueAt === undefined) return;
    scheduledCloses.remove(this.closeDueAt, this);
    this.closeDueAt = undefined;
  }
}
