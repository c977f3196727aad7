import type { IncomingMessage } from 'node:http';
import { RealtimeError } from '../protocol/error-codes.js';

export interface TokenSources {
  /** Accept the `access_token` query parameter (browsers cannot set headers on a WebSocket). */
  query: boolean;
  /** Accept this cookie. */
  cookieName?: string;
}

export interface FoundToken {
  token: string;
  /** A cookie goes along with any page's requests, the others only where the app puts them. */
  from: 'header' | 'query' | 'cookie';
}

/**
 * Why `findToken` found nothing, where the request suggests a slip: an
 * Authorization header without its scheme, or an access_token where the
 * route takes none. (Said without the token.)
 */
export function missingTokenReason(request: Pick<IncomingMessage, 'headers' | 'url'>, sources: TokenSources): string {
  const header = request.headers.authorization?.trim();
  // A bare token, Bearer without one, or a JWT under another scheme. Another scheme's credentials (Basic, which
  // browsers add by themselves behind HTTP auth) are not ours to correct.
  if (header && (!/\s/.test(header) || /^bearer\s/i.test(header) || /^\S+\s+eyJ/.test(header))) return 'the Authorization header must be "Bearer <token>"';
  const url = request.url ?? '';
  const queryStart = url.indexOf('?');
  if (!sources.query && queryStart >= 0 && new URLSearchParams(url.slice(queryStart + 1)).has('access_token')) {
    return 'this route takes its token in the Authorization header only, not in the access_token query parameter';
  }
  return 'an access token is required';
}

/**
 * The token of a handshake or REST request: the Authorization header first,
 * then, where allowed, the `access_token` query parameter and the cookie.
 * An `access_token` given twice in the query is UNAUTHORIZED, whatever the
 * header says.
 */
export function findToken(request: Pick<IncomingMessage, 'headers' | 'url'>, sources: TokenSources): FoundToken | undefined {
  const url = request.url ?? '';
  const queryStart = url.indexOf('?');
  const fromQuery = sources.query && queryStart >= 0 ? new URLSearchParams(url.slice(queryStart + 1)).getAll('access_token') : [];
  // A proxy or firewall in front may have checked another one than this server would take: none is taken.
  if (fromQuery.length > 1) throw RealtimeError.unauthorized('the access_token query parameter is given more than once');
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return { token: match[1], from: 'header' };
  }
  if (fromQuery[0]) return { token: fromQuery[0], from: 'query' };
  if (sources.cookieName && typeof request.headers.cookie === 'string') {
    for (const part of request.headers.cookie.split(';')) {
      const separator = part.indexOf('=');
      if (separator < 0 || part.slice(0, separator).trim() !== sources.cookieName) continue;
      const value = part.slice(separator + 1).trim();
      try {
        if (value) return { token: decodeURIComponent(value), from: 'cookie' };
      } catch {
        // A cookie that is not valid percent-encoding holds no token.
      }
    }
  }
  return undefined;
}

/**
 * Why a token found in the cookie does not count, if it does not: the
 * request came from another site's page (cross-site request forgery, or
 * WebSocket hijacking), which the browser sends the user's cookie with.
 */
export function crossSiteCookieRefusal(
  found: FoundToken | undefined,
  request: Pick<IncomingMessage, 'headers'>,
  allowedOrigins: ReadonlySet<string>,
): string | undefined {
  if (found?.from !== 'cookie' || !isCrossSite(request, allowedOrigins)) return undefined;
  return 'the session cookie signs in pages of this site only (or of WS_ALLOWED_ORIGINS)';
}

/**
 * Whether a browser sent the request for a page of another site (the
 * `Origin` names another host than the request's, or `Sec-Fetch-Site` says
 * cross-site), unless that origin is one of `allowedOrigins`.
 */
function isCrossSite(request: Pick<IncomingMessage, 'headers'>, allowedOrigins: ReadonlySet<string>): boolean {
  const { origin, host } = request.headers;
  if (typeof origin === 'string') {
    if (allowedOrigins.has(origin)) return false;
    try {
      return new URL(origin).host.toLowerCase() !== (host ?? '').toLowerCase();
    } catch {
      // `null` (a sandboxed page, a file) or garbage: no site of ours.
      return true;
    }
  }
  return request.headers['sec-fetch-site'] === 'cross-site';
}

/**
 * A JWT (its header always starts `{"`, eyJ in base64url), wherever a client
 * put it: where a word begins, or after a percent-escape (`%3D`, `%2F`, `%20`
 * in a path, which is not decoded). Not from every `eyJ` of a long run of
 * them: that search took time growing with the square of the URL (83 ms for
 * 16 KB), which any unauthenticated request could ask for. (A token glued to
 * a word, `a_eyJ...`, is the price.)
 */
const JWT_SHAPED = /(?<=^|[^\w-]|%[0-9A-Fa-f]{2})eyJ[\w-]*\.[\w-]*\.[\w-]*/g;

/**
 * The URL for logs: the value of every query parameter whose decoded name is
 * `access_token` (however it was encoded), or starts with it (`access_token[]`,
 * a client's mistake that still carries a token), is replaced; and so is
 * anything shaped like a JWT elsewhere, which a client's other mistakes put
 * there (`?token=`, `?access_token%3D<jwt>`, a path): refused, it is still a
 * live credential.
 */
export function redactTokenFromUrl(url: string): string {
  const queryStart = url.indexOf('?');
  const path = queryStart < 0 ? url : url.slice(0, queryStart);
  const loggedPath = path.replace(JWT_SHAPED, '[redacted]');
  if (queryStart < 0) return loggedPath;
  const params = new URLSearchParams(url.slice(queryStart + 1));
  let redacted = loggedPath !== path;
  const kept = new URLSearchParams();
  for (const [name, value] of params) {
    const loggedName = name.replace(JWT_SHAPED, '[redacted]');
    const secret = name.toLowerCase().startsWith('access_token') || value.search(JWT_SHAPED) >= 0;
    redacted ||= secret || loggedName !== name;
    kept.append(loggedName, secret ? '[redacted]' : value);
  }
  return redacted ? `${loggedPath}?${kept.toString().replace(/%5Bredacted%5D/g, '[redacted]')}` : url;
}
