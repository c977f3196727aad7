import type { CloseCode } from '../src/protocol/events.js';

/** How long to wait between attempts to reconnect; each delay is drawn at random below its ceiling. */
export interface ReconnectOptions {
  /** The ceiling of the first delay. Default 250 ms. */
  initialDelayMs?: number;
  /** The highest ceiling. Default 30 s. */
  maxDelayMs?: number;
  /** Each ceiling is this many times the one before. Default 2. */
  multiplier?: number;
  /** The share of each delay that is random, 0 to 1: 0.5 waits between half the ceiling and all of it. Default 0.5. */
  jitter?: number;
  /** Attempts in a row without a connection before the client gives up and closes. Default: no limit. */
  maxAttempts?: number;
}

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelayMs: 250,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: 0.5,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** The delay before attempt `attempt` (1 for the first retry): exponential, capped, with jitter. */
export function reconnectDelay(attempt: number, options: Required<ReconnectOptions>, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (1 - options.jitter * random()));
}

// Close codes the client acts on; typed against the server's own list, so the two cannot drift apart.
const UNAUTHORIZED: (typeof CloseCode)['UNAUTHORIZED'] = 4001;
const DISCONNECTED_BY_ADMIN: (typeof CloseCode)['DISCONNECTED_BY_ADMIN'] = 4003;

/** How the socket ended, as far as the client can tell. */
export interface SocketEnd {
  /** The WebSocket close code (1006 when the connection failed or dropped without a close frame). */
  code: number;
  /** The HTTP status of a refused upgrade, where the WebSocket implementation tells it (Node's `ws` does, browsers do not). */
  upgradeStatus?: number;
  /** Whether the next attempt can bring a new token (`getToken`, or a browser cookie the app may have renewed). */
  tokenRenewable: boolean;
}

/**
 * Whether to reconnect: everything is retried (restarts 1012, slow consumer
 * 4009, flooding 4008, network failures, too many sockets 1008 and HTTP 429,
 * since another socket may close) except an administrator's disconnect
 * (4003), a refused origin (HTTP 403), and an expired or refused token
 * (4001, HTTP 401) that the client cannot renew.
 */
export function shouldReconnect(end: SocketEnd): boolean {
  if (end.code === DISCONNECTED_BY_ADMIN || end.upgradeStatus === 403) return false;
  if (end.code === UNAUTHORIZED || end.upgradeStatus === 401) return end.tokenRenewable;
  return true;
}
