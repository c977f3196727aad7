/**
 * The part of the WHATWG WebSocket interface the client uses: browsers'
 * native `WebSocket` and Node's `ws` both provide it.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** `ws` passes an event with a `message`; browsers tell nothing more than that it failed. */
  onerror: ((event: { message?: string }) => void) | null;
}

/** A WebSocket class; the third argument (headers) is understood by `ws`, not by browsers. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) => WebSocketLike;

/**
 * How the token reaches the server (section 2 of the contract):
 * - `query`: the `access_token` query parameter (works everywhere, browsers included);
 * - `header`: `Authorization: Bearer` (needs `ws`, so Node only);
 * - `first-frame`: an `auth` frame right after the socket opens (the server needs `WS_FIRST_FRAME_AUTH=true`);
 * - `cookie`: a cookie the browser sends by itself (the server names it with `WS_AUTH_COOKIE`);
 *   in Node, with `cookieName`, the client sends the token in that cookie.
 */
export type AuthMode = 'query' | 'header' | 'first-frame' | 'cookie';

export interface HandshakeOptions {
  url: string;
  auth: AuthMode;
  /** With `auth: 'cookie'` in Node: the cookie to put the token in. */
  cookieName?: string;
  /** Extra upgrade headers (Node only). */
  headers?: Record<string, string>;
}

/** The URL to open and the headers to send for one connection attempt. */
export function handshakeRequest(options: HandshakeOptions, token: string | undefined): { url: string; headers?: Record<string, string> } {
  const headers: Record<string, string> = { ...options.headers };
  let url = options.url;
  if (token !== undefined) {
    if (options.auth === 'query') {
      const withToken = new URL(url);
      withToken.searchParams.set('access_token', token);
      url = withToken.toString();
    } else if (options.auth === 'header') {
      headers.Authorization = `Bearer ${token}`;
    } else if (options.auth === 'cookie' && options.cookieName) {
      headers.Cookie = [headers.Cookie, `${options.cookieName}=${encodeURIComponent(token)}`].filter(Boolean).join('; ');
    }
  }
  return Object.keys(headers).length > 0 ? { url, headers } : { url };
}

/** The runtime's own WebSocket class, if it has one (browsers, Node 22+). */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

/**
 * The WebSocket class to use: the one given, else the runtime's own unless
 * headers must be sent, else `ws`, loaded only now, so that a browser never
 * fetches it.
 */
export async function loadWebSocket(given: WebSocketConstructor | undefined, needsHeaders: boolean): Promise<WebSocketConstructor> {
  if (given) return given;
  const native = globalWebSocket();
  if (native && !needsHeaders) return native;
  // A specifier in a variable: bundlers leave it alone, and TypeScript does not pull Node's types into browser code.
  const specifier = 'ws';
  try {
    const module = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
    const loaded = module.WebSocket ?? module.default;
    if (loaded) return loaded;
  } catch {
    // Reported below.
  }
  throw new Error(
    needsHeaders
      ? 'sending upgrade headers needs the ws package (Node); in a browser use auth "query", "first-frame" or "cookie"'
      : 'this runtime has no WebSocket: install the ws package or pass a WebSocket class',
  );
}

/** What `ws` (Node) adds to a WebSocket: the response to a refused upgrade, and an end without a closing handshake. */
interface NodeWebSocket extends WebSocketLike {
  on(
    event: 'unexpected-response',
    listener: (
      request: unknown,
      response: {
        statusCode?: number;
        headers: Record<string, string | string[] | undefined>;
        setEncoding(encoding: 'utf8'): void;
        on(event: 'data', listener: (chunk: string) => void): void;
        on(event: 'end' | 'close', listener: () => void): void;
      },
    ) => void,
  ): void;
  terminate(): void;
}

/** A refused upgrade: its HTTP status and, where it could be read, the server's reason. */
export interface UpgradeRefusal {
  status: number;
  reason?: string;
}

/** The longest reason kept from a refused upgrade's body (the server's is one short line). */
const MAX_REFUSAL_REASON = 300;

/**
 * With `ws` (Node), reads a refused upgrade's response: `refused` gets its
 * status and, from a plain-text body, the server's reason (a browser shows
 * neither). The socket then ends as `ws` would have ended it.
 */
export function readRefusedUpgrade(socket: WebSocketLike, refused: (refusal: UpgradeRefusal) => void): void {
  const node = socket as Partial<NodeWebSocket>;
  if (typeof node.on !== 'function' || typeof node.terminate !== 'function') return;
  node.on('unexpected-response', (_request, response) => {
    const plainText = String(response.headers['content-type'] ?? '').startsWith('text/plain');
    let body = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const reason = plainText ? body.split('\n')[0].trim().slice(0, MAX_REFUSAL_REASON) : '';
      refused({ status: response.statusCode ?? 0, ...(reason ? { reason } : {}) });
      node.terminate!();
    };
    response.setEncoding('utf8');
    response.on('data', (chunk) => {
      if (body.length <= MAX_REFUSAL_REASON) body += chunk;
    });
    response.on('end', finish);
    response.on('close', finish);
  });
}

/** The HTTP status of a refused upgrade, from `ws`'s error message ("Unexpected server response: 401") when nothing read the response. */
export function upgradeStatus(error: { message?: string }): number | undefined {
  const match = /Unexpected server response: (\d{3})/.exec(error.message ?? '');
  return match ? Number(match[1]) : undefined;
}
