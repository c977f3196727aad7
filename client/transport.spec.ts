import { handshakeRequest, loadWebSocket, upgradeStatus } from './transport.js';

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
