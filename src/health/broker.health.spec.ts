import { jest } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Broker } from '../broker/broker.js';
import { BrokerHealthIndicator } from './broker.health.js';
import { READINESS_ANSWER_FRESH_FOR_MS, READINESS_PING_LOST_AFTER_MS } from './shared-probe.js';

const TIMEOUT_MS = 2000;

/** The indicator on a fake broker whose `inTouch` pings the test answers one by one, on Jest's clock. */
function setup() {
  const pings: Array<(inTouch: boolean) => void> = [];
  const broker = { inTouch: () => new Promise<boolean>((resolve) => pings.push(resolve)) } as unknown as Broker;
  const indicator = new BrokerHealthIndicator(new HealthIndicatorService(), broker);
  return { pings, check: () => indicator.check('broker', TIMEOUT_MS) };
}

const UP = { broker: { status: 'up' } };
const DOWN = { broker: { status: 'down', message: 'the other nodes are out of reach (Redis)' } };

describe('BrokerHealthIndicator', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('answers 100 concurrent checks with one Redis ping', async () => {
    const { pings, check } = setup();
    const checks = Array.from({ length: 100 }, () => check());
    expect(pings).toHaveLength(1);
    pings[0](true);
    for (const result of await Promise.all(checks)) expect(result).toEqual(UP);
  });

  it('pings again for a check after the freshness window, not within it', async () => {
    const { pings, check } = setup();
    const first = check();
    pings[0](true);
    await first;
    await jest.advanceTimersByTimeAsync(READINESS_ANSWER_FRESH_FOR_MS - 1);
    expect(await check()).toEqual(UP);
    expect(pings).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    void check();
    expect(pings).toHaveLength(2);
  });

  it('starts no second ping while one hangs, and pings again once the window after its answer has passed', async () => {
    const { pings, check } = setup();
    const waiting = [check()];
    for (let n = 0; n < 10; n++) {
      await jest.advanceTimersByTimeAsync(190);
      waiting.push(check());
    }
    expect(pings).toHaveLength(1);
    // The commands connection's timeout fails the ping: every waiting check hears it.
    pings[0](false);
    for (const result of await Promise.all(waiting)) expect(result).toEqual(DOWN);
    await jest.advanceTimersByTimeAsync(READINESS_ANSWER_FRESH_FOR_MS);
    const recovered = check();
    expect(pings).toHaveLength(2);
    pings[1](true);
    expect(await recovered).toEqual(UP);
  });

  it('answers "down" within its own timeout while a ping hangs, and pings again once that ping is taken for lost', async () => {
    const { pings, check } = setup();
    let answered = false;
    const first = check().then((result) => ((answered = true), result));
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(answered).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await first).toEqual(DOWN);
    await jest.advanceTimersByTimeAsync(READINESS_PING_LOST_AFTER_MS - TIMEOUT_MS - 1);
    void check();
    expect(pings).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    const afterLoss = check();
    expect(pings).toHaveLength(2);
    pings[1](true);
    expect(await afterLoss).toEqual(UP);
    // The lost ping's late answer changes nothing.
    pings[0](false);
    expect(await check()).toEqual(UP);
  });

  it('reports a failed ping as "down", also to checks within the window, never as the earlier "up"', async () => {
    const { pings, check } = setup();
    const up = check();
    pings[0](true);
    expect(await up).toEqual(UP);
    await jest.advanceTimersByTimeAsync(READINESS_ANSWER_FRESH_FOR_MS);
    const failing = check();
    pings[1](false);
    expect(await failing).toEqual(DOWN);
    expect(await check()).toEqual(DOWN);
    expect(pings).toHaveLength(2);
  });
});
