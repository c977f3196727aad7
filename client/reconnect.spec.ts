import { DEFAULT_RECONNECT, reconnectDelay, shouldReconnect } from './reconnect.js';

describe('reconnectDelay', () => {
  const options = { ...DEFAULT_RECONNECT, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0.5 };

  it('doubles the ceiling with each attempt up to the cap', () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((attempt) => reconnectDelay(attempt, options, () => 0));
    expect(ceilings).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('draws each delay between (1 - jitter) of the ceiling and the ceiling', () => {
    expect(reconnectDelay(3, options, () => 0.999999)).toBe(200);
    expect(reconnectDelay(3, options, () => 0.5)).toBe(300);
    expect(reconnectDelay(3, { ...options, jitter: 0 }, () => 0.9)).toBe(400);
    expect(reconnectDelay(3, { ...options, jitter: 1 }, () => 0.75)).toBe(100);
  });

  it('spreads clients out: different random draws give different delays', () => {
    const delays = new Set([0.1, 0.3, 0.5, 0.7, 0.9].map((r) => reconnectDelay(4, options, () => r)));
    expect(delays.size).toBe(5);
  });
});

describe('shouldReconnect', () => {
  it.each<[number, number | undefined, boolean, boolean, string]>([
    [1012, undefined, false, true, 'a server restart'],
    [1006, undefined, false, true, 'a lost connection'],
    [1006, 503, false, true, 'a server that is shutting down'],
    [1006, 429, false, true, 'too many sockets at the upgrade'],
    [1008, undefined, false, true, 'too many sockets after first-frame auth'],
    [4008, undefined, false, true, 'flooding'],
    [4009, undefined, false, true, 'a slow consumer'],
    [4003, undefined, true, false, 'an administrator disconnect'],
    [1006, 403, true, false, 'a refused origin'],
    [4001, undefined, true, true, 'an expired token with getToken'],
    [4001, undefined, false, false, 'an expired token without getToken'],
    [1006, 401, true, true, 'a refused token with getToken'],
    [1006, 401, false, false, 'a refused token without getToken'],
  ])('close %i (upgrade status %s, renewable token %s): reconnect %s, for %s', (code, upgradeStatus, tokenRenewable, expected) => {
    expect(shouldReconnect({ code, upgradeStatus, tokenRenewable })).toBe(expected);
  });
});
