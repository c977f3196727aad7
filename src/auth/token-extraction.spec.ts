import { missingTokenReason, redactTokenFromUrl } from './token-extraction.js';

// The shape of a real token; its signature is what must never reach a log.
const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLWFsaWNl';

describe('redactTokenFromUrl', () => {
  it.each([
    ['access_token', `/ws?access_token=${jwt}`, '/ws?access_token=[redacted]'],
    ['an encoded access_token name', `/ws?access%5Ftoken=${jwt}&x=1`, '/ws?access_token=[redacted]&x=1'],
    ['access_token[]', `/rooms/a/messages?access_token[]=${jwt}`, '/rooms/a/messages?access_token%5B%5D=[redacted]'],
    ['a token under another name', `/rooms/a/events?token=${jwt}&since=3`, '/rooms/a/events?token=[redacted]&since=3'],
    ['a token in the name of a parameter', `/rooms/a/messages?access_token%3D${jwt}`, '/rooms/a/messages?access_token%3D[redacted]=[redacted]'],
    ['a token with encoded dots', `/ws?jwt=${jwt.replace(/\./g, '%2E')}`, '/ws?jwt=[redacted]'],
    ['a token in the path', `/rooms/${jwt}/messages`, '/rooms/[redacted]/messages'],
  ])('keeps %s out of the log line', (_case, url, logged) => {
    expect(redactTokenFromUrl(url)).toBe(logged);
  });

  // A match may start only where a word begins: from every `eyJ` inside a run of them the search took
  // time growing with the square of the URL's length.
  it('looks for a token only where a word begins', () => {
    for (const url of ['/x' + 'eyJ'.repeat(5000), '/rooms/aeyJhb.eyJz.c2ln/messages', '/ws?q=-eyJhb.eyJz.c2ln']) {
      expect(redactTokenFromUrl(url)).toBe(url);
    }
    expect(redactTokenFromUrl(`/ws?q=x.${jwt}`)).toBe('/ws?q=[redacted]');
  });

  it('finds a token after a percent-escape in the path, which is not decoded', () => {
    expect(redactTokenFromUrl(`/ws%3Faccess_token%3D${jwt}`)).toBe('/ws%3Faccess_token%3D[redacted]');
    expect(redactTokenFromUrl(`/rooms/Bearer%20${jwt}`)).toBe('/rooms/Bearer%20[redacted]');
    expect(redactTokenFromUrl(`/x%2F${jwt}`)).toBe('/x%2F[redacted]');
  });

  it('leaves a URL without a token as it came', () => {
    for (const url of ['/rooms/general/messages?after=3&limit=20', '/rooms/a.b:c/poll?after=0', '/health/ready', '/x?q=a+b%20c']) {
      expect(redactTokenFromUrl(url)).toBe(url);
    }
  });
});

describe('missingTokenReason', () => {
  const reason = (authorization: string | undefined, url = '/ws', query = true) => missingTokenReason({ headers: { authorization }, url }, { query });

  it('points at the header when it holds a bare token or an empty Bearer', () => {
    expect(reason(jwt)).toBe('the Authorization header must be "Bearer <token>"');
    expect(reason('Bearer ')).toBe('the Authorization header must be "Bearer <token>"');
    expect(reason(`JWT ${jwt}`)).toBe('the Authorization header must be "Bearer <token>"');
  });

  it("leaves another scheme's header alone (a browser sends Basic by itself behind HTTP auth)", () => {
    expect(reason('Basic YWxpY2U6c2VjcmV0')).toBe('an access token is required');
  });

  it('points at the header when the token came in the query of a route that does not take it there', () => {
    expect(reason(undefined, `/admin/roles?access_token=${jwt}`, false)).toBe(
      'this route takes its token in the Authorization header only, not in the access_token query parameter',
    );
  });
});
