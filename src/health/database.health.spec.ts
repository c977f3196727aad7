import { jest } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { DataSource } from 'typeorm';
import { DatabaseHealthIndicator } from './database.health.js';
import { READINESS_ANSWER_FRESH_FOR_MS, READINESS_PING_LOST_AFTER_MS } from './shared-probe.js';

const TIMEOUT_MS = 2000;

/** The indicator on a fake database whose queries the test answers one by one, on Jest's clock. */
function setup() {
  const queries: Array<{ sql: string; resolve: () => void; reject: (error: Error) => void }> = [];
  const dataSource = {
    query: (sql: string) => new Promise<void>((resolve, reject) => queries.push({ sql, resolve: () => resolve(), reject })),
  } as unknown as DataSource;
  const indicator = new DatabaseHealthIndicator(new HealthIndicatorService(), dataSource);
  return { indicator, queries, check: () => indicator.check('database', TIMEOUT_MS) };
}

describe('DatabaseHealthIndicator', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  it('answers 100 concurrent checks with one query, each reporting the query\'s own time', async () => {
    const { queries, check } = setup();
    const checks = Array.from({ length: 100 }, () => check());
    expect(queries.map((query) => query.sql)).toEqual(['SELECT 1']);
    await jest.advanceTimersByTimeAsync(40);
    const late = check();
    await jest.advanceTimersByTimeAsync(2);
    queries[0].resolve();
    for (const result of await Promise.all([...checks, late])) expect(result).toEqual({ database: { status: 'up', responseTime: 42 } });
    expect(queries).toHaveLength(1);
  });

  it('queries again for a check after the freshness window, not within it', async () => {
    const { queries, check } = setup();
    const first = check();
    queries[0].resolve();
    await first;
    await jest.advanceTimersByTimeAsync(READINESS_ANSWER_FRESH_FOR_MS - 1);
    expect(await check()).toEqual({ database: { status: 'up', responseTime: 0 } });
    expect(queries).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    const second = check();
    expect(queries).toHaveLength(2);
    queries[1].resolve();
    expect((await second).database.status).toBe('up');
  });

  it('answers each check "down" within its own timeout while the query hangs, and queries again once it is taken for lost', async () => {
    const { queries, check } = setup();
    const down = { database: { status: 'down', message: `no answer within ${TIMEOUT_MS} ms` } };
    const settled: string[] = [];
    const first = check().then((result) => (settled.push('first'), result));
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    const second = check().then((result) => (settled.push('second'), result));
    expect(settled).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(await first).toEqual(down);
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 2);
    expect(settled).toEqual(['first']);
    await jest.advanceTimersByTimeAsync(1);
    expect(await second).toEqual(down);
    // Until the query is taken for lost, still the one hanging query.
    await jest.advanceTimersByTimeAsync(READINESS_PING_LOST_AFTER_MS - 2 * TIMEOUT_MS);
    void check();
    expect(queries).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    const recovered = check();
    expect(queries).toHaveLength(2);
    queries[1].resolve();
    expect(await recovered).toEqual({ database: { status: 'up', responseTime: 0 } });
    // The lost query's late answer is no "up" and changes nothing.
    queries[0].resolve();
    expect(await check()).toEqual({ database: { status: 'up', responseTime: 0 } });
    expect(queries).toHaveLength(2);
  });

  it('answers "down" for a query that answered later than the timeout, to the checks within the window after it', async () => {
    const { queries, check } = setup();
    const slow = check();
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS + 1);
    queries[0].resolve();
    const down = { database: { status: 'down', message: `no answer within ${TIMEOUT_MS} ms` } };
    expect(await slow).toEqual(down);
    expect(await check()).toEqual(down);
    expect(queries).toHaveLength(1);
  });

  it('reports a failing query as "down" with its message, also to checks within the window, never as the earlier "up"', async () => {
    const { queries, check } = setup();
    const up = check();
    queries[0].resolve();
    expect((await up).database.status).toBe('up');
    await jest.advanceTimersByTimeAsync(READINESS_ANSWER_FRESH_FOR_MS);
    const failing = check();
    queries[1].reject(new Error('connection refused'));
    const down = { database: { status: 'down', message: 'connection refused' } };
    expect(await failing).toEqual(down);
    expect(await check()).toEqual(down);
    expect(queries).toHaveLength(2);
  });
});
