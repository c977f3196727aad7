import { refreshDelay, tokenExpiry } from './token.js';

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (claims: object) => `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(claims)}.signature`;

describe('tokenExpiry', () => {
  it('reads exp from a JWT, names in any script included', () => {
    expect(tokenExpiry(jwt({ sub: 'alice', exp: 1_900_000_000 }))).toBe(1_900_000_000);
    expect(tokenExpiry(jwt({ sub: 'zoë', name: 'Zoë 🌍 ~~~???', exp: 1_900_000_001 }))).toBe(1_900_000_001);
  });

  it.each([
    ['not a JWT', 'opaque-session-token'],
    ['a payload that is not JSON', 'a.bm90IGpzb24.c'],
    ['no exp', jwt({ sub: 'alice' })],
    ['an exp that is not a number', jwt({ sub: 'alice', exp: '1900000000' })],
  ])('is undefined for %s', (_case, token) => {
    expect(tokenExpiry(token)).toBeUndefined();
  });
});

describe('refreshDelay', () => {
  it('refreshes the margin before the expiry of a long-lived token', () => {
    expect(refreshDelay(3_600_000, 0, 30_000)).toBe(3_570_000);
  });

  it('refreshes a token that lives less than twice the margin halfway to its expiry', () => {
    expect(refreshDelay(10_000, 0, 30_000)).toBe(5_000);
  });

  it('stays within what timers can wait for a token that lives for months', () => {
    expect(refreshDelay(90 * 86_400_000, 0, 30_000)).toBe(2 ** 31 - 1);
  });

  it('waits at least a second, even for a token about to expire or expired', () => {
    expect(refreshDelay(500, 0, 30_000)).toBe(1000);
    expect(refreshDelay(0, 5000, 30_000)).toBe(1000);
  });
});
