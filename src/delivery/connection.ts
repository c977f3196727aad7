import type { WebSocket } from 'ws';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { ErrorCode, ErrorDetail } from '../protocol/error-codes.js';
import { CloseCode, ServerEvent } from '../protocol/events.js';
import type { RoomMembership } from './room-membership.js';

const CONNECTING = 0;
const OPEN = 1;
/** setTimeout takes at most 2^31-1 ms; longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;
/** How often a paced sender looks whether the socket's buffer has drained. */
const DRAIN_POLL_MS = 10;

/** One client socket and what the server knows of it. */
export class Connection {
  /** null until a first-frame `auth` succeeds. */
  user: AuthenticatedUser | null;
  /** The rooms this socket receives, by room key. */
  readonly memberships = new Map<string, RoomMembership>();
  /** Set once the socket's close was handled: work finishing later must not attach anything to it. */
  ended = false;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  private expiryTimer: NodeJS.Timeout | undefined;
  private missedPongs = 0;

  constructor(
    readonly id: string,
    private readonly socket: WebSocket,
    user: AuthenticatedUser | null,
    /** Past this many queued bytes the socket is a slow consumer and is closed with 4009. */
    readonly maxBufferedBytes: number,
  ) {
    this.user = user;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('pong', () => {
      this.missedPongs = 0;
    });
  }

  /**
   * Sends an already serialised frame; a closing socket drops it, and one
   * whose outgoing buffer overflows is closed rather than left to grow.
   */
  send(frame: string): void {
    if (this.socket.readyState !== OPEN) return;
    this.socket.send(frame);
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.close(CloseCode.SLOW_CONSUMER, 'slow consumer: too much unread data; reconnect and resume with since');
    }
  }

  reply(event: string, id: string | undefined, data: unknown): void {
    this.send(JSON.stringify({ event, id, data }));
  }

  replyError(event: string | undefined, id: string | undefined, code: ErrorCode, message: string, details?: ErrorDetail[]): void {
    this.send(JSON.stringify({ event: ServerEvent.ERROR, id, data: { code, message, event, details } }));
  }

  close(code: number, reason: string): void {
    this.clearExpiry();
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
