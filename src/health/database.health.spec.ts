import { jest } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { DataSource } from 'typeorm';
import { DatabaseHealthIndicator } from './database.health.js';
import { READINESS_ANSWER_FRESH_FOR_MS } from './shared-probe.js';

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

  it('answers each check "down" within its own timeout while the query hangs, starting no second query until it answers', async () => {
    const { queries, check } = setup();
    const down = { database: { status: 'down', message: `no answer within ${TIMEOUT_MS} ms` } };
    const first = check();
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    const second = check();
    await jest.advanceTimersByTimeAsync(1);
    expect(await first).toEqual(down);
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(await second).toEqual(down);
    // Long after: still the one hanging query.
    await jest.advanceTimersByTimeAsync(20_000);
    const third = check();
    await jest.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(await third).toEqual(down);
    expect(queries).toHaveLength(1);

    // Its late answer is no "up": the database did not answer within the timeout.
    queries[0].resolve();
    expect(await check()).toEqual(down);
    expect(queries).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(READINESS_ANSWER_FRESH_FOR_MS);
    const recovered = check();
    expect(queries).toHaveLength(2);
    queries[1].resolve();
    expect(await recovered).toEqual({ database: { status: 'up', responseTime: 0 } });
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
