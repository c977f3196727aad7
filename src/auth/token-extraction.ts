import type { IncomingMessage } from 'node:http';

/**
 * The token of a handshake or REST request: the Authorization header first,
 * then the `access_token` query parameter, then the configured cookie.
 */
export function extractToken(request: Pick<IncomingMessage, 'headers' | 'url'>, cookieName?: string): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
  }
  const url = request.url ?? '';
  const queryStart = url.indexOf('?');
  if (queryStart >= 0) {
    const fromQuery = new URLSearchParams(url.slice(queryStart + 1)).get('access_token');
    if (fromQuery) return fromQuery;
  }
  if (cookieName && typeof request.headers.cookie === 'string') {
    for (const part of request.headers.cookie.split(';')) {
      const separator = part.indexOf('=');
      if (separator < 0) continue;
      if (part.slice(0, separator).trim() === cookieName) {
        const value = part.slice(separator + 1).trim();
        if (value) return decodeURIComponent(value);
      }
    }
  }
  return undefined;
}

/** The URL without its `access_token`, for logs. */
export function redactTokenFromUrl(url: string): string {
  return url.replace(/([?&]access_token=)[^&#]*/gi, '$1[redacted]');
}
