/** Where the client's tokens come from. */
export interface TokenSource {
  /** A token used as is, for every connection. */
  token?: string;
  /** Called before each connection attempt and before each refresh; may return a cached token while it is fresh. */
  getToken?: () => string | Promise<string>;
}

/**
 * The `exp` claim (seconds since the epoch) of a JWT, read without checking
 * the signature (the server does that); undefined when it cannot be read.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

/** Refreshes stay at least this far apart, however close the expiry. */
const MIN_REFRESH_DELAY_MS = 1000;
/** The longest delay timers take (about 24.8 days); longer ones would fire at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * When to refresh a token that expires at `expiresAtMs`: `marginMs` before
 * that, or halfway there for a token that lives less than twice the margin
 * (a token for months is refreshed early, as timers do not wait that long).
 */
export function refreshDelay(expiresAtMs: number, nowMs: number, marginMs: number): number {
  const remaining = expiresAtMs - nowMs;
  return Math.min(MAX_TIMER_DELAY_MS, Math.max(MIN_REFRESH_DELAY_MS, remaining - Math.min(marginMs, remaining / 2)));
}
