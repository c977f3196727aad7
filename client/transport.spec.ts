import { EventEmitter } from 'node:events';
import { handshakeRequest, loadWebSocket, readRefusedUpgrade, upgradeStatus, type UpgradeRefusal } from './transport.js';

describe('handshakeRequest', () => {
  const url = 'wss://chat.example/ws?tenant=x';

  it('puts the token in the access_token query parameter, encoded', () => {
    const { url: withToken, headers } = handshakeRequest({ url, auth: 'query' }, 'a.b+c/d');
    expect(new URL(withToken).searchParams.get('access_token')).toBe('a.b+c/d');
    expect(new URL(withToken).searchParams.get('tenant')).toBe('x');
    expect(headers).toBeUndefined();
  });

  it('sends an Authorization header, next to the extra headers', () => {
    expect(handshakeRequest({ url, auth: 'header', headers: { Origin: 'https://app.example' } }, 't')).toEqual({
      url,
      headers: { Origin: 'https://app.example', Authorization: 'Bearer t' },
    });
  });

  it('sends the token in the named cookie, after the cookies already given', () => {
    expect(handshakeRequest({ url, auth: 'cookie', cookieName: 'session', headers: { Cookie: 'theme=dark' } }, 't=1')).toEqual({
      url,
      headers: { Cookie: 'theme=dark; session=t%3D1' },
    });
  });

  it('leaves the browser to send its own cookie, and first-frame auth to send the token later', () => {
    expect(handshakeRequest({ url, auth: 'cookie' }, undefined)).toEqual({ url });
    expect(handshakeRequest({ url, auth: 'first-frame' }, undefined)).toEqual({ url });
  });
});

describe('loadWebSocket', () => {
  it('takes the class given, else loads ws when the runtime has none (Node 20)', async () => {
    class Given {}
    expect(await loadWebSocket(Given as never, true)).toBe(Given);
    const { WebSocket } = await import('ws');
    expect(await loadWebSocket(undefined, false)).toBe(WebSocket);
  });
});

describe('upgradeStatus', () => {
  it("reads the status of a refused upgrade from ws's error, and nothing from a browser's", () => {
    expect(upgradeStatus({ message: 'Unexpected server response: 401' })).toBe(401);
    expect(upgradeStatus({ message: 'connect ECONNREFUSED 127.0.0.1:1' })).toBeUndefined();
    expect(upgradeStatus({})).toBeUndefined();
  });
});

describe('readRefusedUpgrade', () => {
  /** A `ws` socket whose upgrade is answered with `status`, `contentType` and `body` (sent in two chunks). */
  function refusedWith(status: number, contentType: string, body: string) {
    const socket = Object.assign(new EventEmitter(), { readyState: 0, terminated: false, terminate: () => (socket.terminated = true) });
    const seen: UpgradeRefusal[] = [];
    readRefusedUpgrade(socket as never, (refusal) => seen.push(refusal));
    const response = Object.assign(new EventEmitter(), { statusCode: status, headers: { 'content-type': contentType }, setEncoding: () => undefined });
    socket.emit('unexpected-response', {}, response);
    response.emit('data', body.slice(0, 5));
    response.emit('data', body.slice(5));
    response.emit('end');
    response.emit('close');
    return { seen, terminated: socket.terminated };
  }

  it("passes on the status and the first line of a plain-text reason, once, then ends the socket", () => {
    expect(refusedWith(401, 'text/plain; charset=utf-8', 'the token has expired\nmore')).toEqual({ seen: [{ status: 401, reason: 'the token has expired' }], terminated: true });
    expect(refusedWith(401, 'text/plain', 'x'.repeat(1000)).seen[0].reason).toHaveLength(300);
  });

  it('keeps no reason from another kind of body (a proxy\'s HTML page)', () => {
    expect(refusedWith(502, 'text/html', '<html><body>Bad Gateway</body></html>')).toEqual({ seen: [{ status: 502 }], terminated: true });
  });

  it("leaves a browser's WebSocket alone", () => {
    expect(() => readRefusedUpgrade({ readyState: 0 } as never, () => undefined)).not.toThrow();
  });
});
