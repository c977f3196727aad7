import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import type { ErrorCode, ErrorDetail } from '../protocol/error-codes.js';
import { CloseCode, ServerEvent } from '../protocol/events.js';
import type { RoomMembership } from './room-membership.js';
import { writeFrame, type FrameTarget } from './socket-writes.js';

const CONNECTING = 0;
const OPEN = 1;
/** setTimeout takes at most 2^31-1 ms; longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;
/** How often a paced sender looks whether the socket's buffer has drained. */
const DRAIN_POLL_MS = 10;
/** How long a socket may stay over its buffer limit before it counts as a slow consumer. */
const SLOW_CONSUMER_GRACE_MS = 1000;
/** Past this multiple of the limit a socket is closed at once: memory comes first. */
const HARD_LIMIT_FACTOR = 16;

/** One client socket and what the server knows of it. */
export class Connection {
  /** null until a first-frame `auth` succeeds. */
  user: AuthenticatedUser | null;
  /** The rooms this socket receives, by room key. */
  readonly memberships = new Map<string, RoomMembership>();
  /** Set once the socket's close was handled: work finishing later must not attach anything to it. */
  ended = false;
  /** Frames its memberships hold for it (during replays and permission re-checks), in UTF-16 units. */
  heldBytes = 0;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  private expiryTimer: NodeJS.Timeout | undefined;
  private backlogTimer: NodeJS.Timeout | undefined;
  private missedPongs = 0;
  /** The TCP socket under the WebSocket, which frames are written to directly (see socket-writes.ts). */
  private readonly frameTarget: FrameTarget | undefined;

  constructor(
    readonly id: string,
    private readonly socket: WebSocket,
    user: AuthenticatedUser | null,
    /** Past this many queued bytes the socket is a slow consumer and is closed with 4009. */
    readonly maxBufferedBytes: number,
    private readonly metrics?: RealtimeMetrics,
  ) {
    this.user = user;
    const transport = (socket as unknown as { _socket?: Socket })._socket;
    if (transport) this.frameTarget = { transport, flushed: () => this.checkBacklog() };
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('pong', () => {
      this.missedPongs = 0;
    });
  }

  get isOpen(): boolean {
    return this.socket.readyState === OPEN;
  }

  /**
   * Sends an already serialised frame; a closing socket drops it. A socket
   * whose unsent data stays over its limit (one big reply or a burst is
   * fine; a reader that does not keep up is not) is closed with 4009 rather
   * than left to grow, and at once far over it; the check runs once the
   * frames of the turn were handed to the system.
   */
  send(frame: string): void {
    if (this.socket.readyState !== OPEN) return;
    if (this.frameTarget) return writeFrame(this.frameTarget, frame);
    this.socket.send(frame);
    this.checkBacklog();
  }

  /** Unsent data plus held frames, against the limit. */
  checkBacklog(): void {
    const backlog = this.socket.bufferedAmount + this.heldBytes;
    if (backlog <= this.maxBufferedBytes) return;
    if (backlog > this.maxBufferedBytes * HARD_LIMIT_FACTOR) return this.closeSlowConsumer();
    this.backlogTimer ??= setTimeout(() => {
      this.backlogTimer = undefined;
      if (this.socket.bufferedAmount + this.heldBytes > this.maxBufferedBytes) this.closeSlowConsumer();
    }, SLOW_CONSUMER_GRACE_MS).unref();
  }

  reply(event: string, id: string | undefined, data: unknown): void {
    this.metrics?.frameOut(event);
    this.send(JSON.stringify({ event, id, data }));
  }

  replyError(event: string | undefined, id: string | undefined, code: ErrorCode, message: string, details?: ErrorDetail[]): void {
    this.metrics?.error(code);
    this.send(JSON.stringify({ event: ServerEvent.ERROR, id, data: { code, message, event, details } }));
  }

  close(code: number, reason: string): void {
    this.clearExpiry();
    clearTimeout(this.backlogTimer);
    if (this.socket.readyState === OPEN || this.socket.readyState === CONNECTING) this.socket.close(code, reason);
  }

  /** Ends the socket without a closing handshake (a peer that stopped answering). */
  terminate(): void {
    this.socket.terminate();
  }

  /** Pings the peer; false (and the socket terminated) when it missed the two pings before. */
  heartbeat(): boolean {
    if (this.missedPongs >= 2) {
      this.terminate();
      return false;
    }
    this.missedPongs++;
    if (this.socket.readyState === OPEN) this.socket.ping();
    return true;
  }

  private closeSlowConsumer(): void {
    this.close(CloseCode.SLOW_CONSUMER, 'slow consumer: too much unread data; reconnect and resume with since');
  }

  /** Resolves once at most `bytes` wait to be written, or the socket is gone: for senders that can wait (replays). */
  async drained(bytes: number): Promise<void> {
    while (this.socket.readyState === OPEN && this.socket.bufferedAmount > bytes) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Runs `onExpired` at `deadline` (milliseconds since the epoch), replacing any earlier schedule. */
  scheduleExpiry(deadline: number, onExpired: () => void): void {
    this.clearExpiry();
    const arm = () => {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return onExpired();
      this.expiryTimer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS));
      this.expiryTimer.unref();
    };
    arm();
  }

  clearExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }
}
