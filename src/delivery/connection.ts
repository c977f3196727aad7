import type { WebSocket } from 'ws';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { ErrorCode, ErrorDetail } from '../protocol/error-codes.js';
import { ServerEvent } from '../protocol/events.js';
import type { RoomMembership } from './room-membership.js';

const OPEN = 1;
/** setTimeout takes at most 2^31-1 ms; longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;

/** One client socket and what the server knows of it. */
export class Connection {
  /** null until a first-frame `auth` succeeds. */
  user: AuthenticatedUser | null;
  /** The rooms this socket receives, by room key. */
  readonly memberships = new Map<string, RoomMembership>();
  /** Set once the socket's close was handled: work finishing later must not attach anything to it. */
  ended = false;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    private readonly socket: WebSocket,
    user: AuthenticatedUser | null,
  ) {
    this.user = user;
  }

  /** Sends an already serialised frame; a closing socket drops it. */
  send(frame: string): void {
    if (this.socket.readyState === OPEN) this.socket.send(frame);
  }

  reply(event: string, id: string | undefined, data: unknown): void {
    this.send(JSON.stringify({ event, id, data }));
  }

  replyError(event: string | undefined, id: string | undefined, code: ErrorCode, message: string, details?: ErrorDetail[]): void {
    this.send(JSON.stringify({ event: ServerEvent.ERROR, id, data: { code, message, event, details } }));
  }

  close(code: number, reason: string): void {
    this.clearExpiry();
    if (this.socket.readyState === OPEN || this.socket.readyState === 0) this.socket.close(code, reason);
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
