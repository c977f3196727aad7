import type { IncomingMessage } from 'node:http';

export interface TokenSources {
  /** Accept the `access_token` query parameter (browsers cannot set headers on a WebSocket). */
  query: boolean;
  /** Accept this cookie. */
  cookieName?: string;
}

/**
 * The token of a handshake or REST request: the Authorization header first,
 * then, where allowed, the `access_token` query parameter and the cookie.
 */
export function extractToken(request: Pick<IncomingMessage, 'headers' | 'url'>, sources: TokenSources): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
  }
  const url = request.url ?? '';
  const queryStart = url.indexOf('?');
  if (sources.query && queryStart >= 0) {
    const fromQuery = new URLSearchParams(url.slice(queryStart + 1)).get('access_token');
    if (fromQuery) return fromQuery;
  }
  if (sources.cookieName && typeof request.headers.cookie === 'string') {
    for (const part of request.headers.cookie.split(';')) {
      const separator = part.indexOf('=');
      if (separator < 0 || part.slice(0, separator).trim() !== sources.cookieName) continue;
      const value = part.slice(separator + 1).trim();
      try {
        if (value) return decodeURIComponent(value);
      } catch {
        // A cookie that is not valid percent-encoding holds no token.
      }
    }
  }
  return undefined;
}

/**
 * The URL for logs: the value of every query parameter whose decoded name is
 * `access_token` (however it was encoded) is replaced.
 */
export function redactTokenFromUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return url;
  const params = new URLSearchParams(url.slice(queryStart + 1));
  let redacted = false;
  const kept = new URLSearchParams();
  for (const [name, value] of params) {
    const secret = name.toLowerCase() === 'access_token';
    redacted ||= secret;
    kept.append(name, secret ? '[redacted]' : value);
  }
  return redacted ? `${url.slice(0, queryStart)}?${kept.toString().replace(/%5Bredacted%5D/g, '[redacted]')}` : url;
}
