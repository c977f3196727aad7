import { jest } from '@jest/globals';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { REALTIME_CONNECTION } from '../../src/database/data-source-options.js';
import { DatabaseHealthIndicator } from '../../src/health/database.health.js';
import { describeEachDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { suiteServer } from '../support/suite-server.js';
import { waitUntil } from '../support/wait.js';

describeEachDatabase('readiness under a flood', (kind) => {
  const suite = suiteServer(kind);

  it('answers 200 concurrent GET /health/ready with 200 and one database query', async () => {
    const { app } = suite.server;
    const dataSource = app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION));
    const indicator = app.get(DatabaseHealthIndicator);
    const check = indicator.check.bind(indicator);
    // Each request waits as long as the query is held, not 2 s: bringing in 200 requests may take a slow machine seconds
    // (within the 5 s after which a ping is taken for lost).
    const checks = jest.spyOn(indicator, 'check').mockImplementation((key) => check(key, 60_000));
    // The database's readiness queries, held until every request is being checked: all of them overlap.
    const readinessQueries: string[] = [];
    let answerQueries!: () => void;
    const queriesAnswered = new Promise<void>((resolve) => (answerQueries = resolve));
    const query = dataSource.query.bind(dataSource);
    const queries = jest.spyOn(dataSource, 'query').mockImplementation(async (sql: string, ...rest: unknown[]) => {
      if (sql === 'SELECT 1') {
        readinessQueries.push(sql);
        await queriesAnswered;
      }
      return query(sql, ...(rest as [])) as Promise<never>;
    });
    try {
      const answers = Array.from({ length: 200 }, () => http(suite.server.httpUrl, 'GET', '/health/ready'));
      await waitUntil(() => checks.mock.calls.length === 200);
      answerQueries();
      const results = await Promise.all(answers);

      expect(results.map((result) => result.status)).toEqual(Array(200).fill(200));
      for (const { body } of results) expect(body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, broker: { status: 'up' } } });
      // One query answered them all, and each reports that query's time.
      expect(readinessQueries).toEqual(['SELECT 1']);
      expect(new Set(results.map(({ body }) => body.info.database.responseTime)).size).toBe(1);
    } finally {
      answerQueries();
      queries.mockRestore();
      checks.mockRestore();
    }
  });
});
