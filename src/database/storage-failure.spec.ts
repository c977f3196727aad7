import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { RealtimeError } from '../protocol/error-codes.js';
import { FailureReport, messageRefusals, storageFailures, withStorage } from './storage-failure.js';

describe('failure reports', () => {
  const logger = new Logger('test');
  /** What was logged, as `level: line`. */
  let logged: string[];

  beforeEach(() => {
    logged = [];
    jest.spyOn(logger, 'error').mockImplementation((line: unknown) => void logged.push(`error: ${String(line)}`));
    jest.spyOn(logger, 'warn').mockImplementation((line: unknown) => void logged.push(`warn: ${String(line)}`));
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('log the first failure, then at most one line per 5 s, saying how many were left out since the last', () => {
    let now = 1_000_000;
    const report = new FailureReport({ level: 'error', describe: ({ message }) => `failed: ${message}`, repeats: 'failures', now: () => now });
    report.report(logger, { message: 'a' });
    now += 4999;
    report.report(logger, { message: 'b' });
    report.report(logger, { message: 'c' });
    now += 1;
    report.report(logger, { message: 'd' });
    now += 6000;
    report.report(logger, { message: 'e' });
    expect(logged).toEqual(['error: failed: a', 'error: failed: d (2 more failures since the last report)', 'error: failed: e']);
  });

  it('log a refused message as a warning, with the driver\'s message and code, and an outage as an error', () => {
    messageRefusals.report(logger, { message: 'value too long for type character varying(64)', code: '22001' });
    storageFailures.report(logger, { message: 'connect ECONNREFUSED 127.0.0.1:5432' });
    expect(logged).toEqual([
      'warn: message refused by the database: value too long for type character varying(64) (22001)',
      'error: storage failed: connect ECONNREFUSED 127.0.0.1:5432',
    ]);
  });

  it('summarise refusals and outages each on its own throttle: neither holds back or folds in the other', () => {
    jest.useFakeTimers();
    // Both throttles past anything the test before reported.
    jest.setSystemTime(Date.now() + 60_000);
    messageRefusals.report(logger, { message: 'CHECK constraint failed: text', code: 'SQLITE_CONSTRAINT_CHECK' });
    storageFailures.report(logger, { message: 'Connection terminated unexpectedly' });
    messageRefusals.report(logger, { message: 'CHECK constraint failed: text', code: 'SQLITE_CONSTRAINT_CHECK' });
    messageRefusals.report(logger, { message: 'CHECK constraint failed: text', code: 'SQLITE_CONSTRAINT_CHECK' });
    storageFailures.report(logger, { message: 'Connection terminated unexpectedly' });
    jest.advanceTimersByTime(5000);
    storageFailures.report(logger, { message: 'Query read timeout' });
    messageRefusals.report(logger, { message: 'NOT NULL constraint failed', code: 'SQLITE_CONSTRAINT_NOTNULL' });
    expect(logged).toEqual([
      'warn: message refused by the database: CHECK constraint failed: text (SQLITE_CONSTRAINT_CHECK)',
      'error: storage failed: Connection terminated unexpectedly',
      'error: storage failed: Query read timeout (1 more failures since the last report)',
      'warn: message refused by the database: NOT NULL constraint failed (SQLITE_CONSTRAINT_NOTNULL) (2 more refusals since the last report)',
    ]);
  });

  it("leave to the caller of withStorage the failures it reports itself, still answered UNAVAILABLE with the driver's error attached", async () => {
    jest.useFakeTimers();
    jest.setSystemTime(Date.now() + 120_000);
    const constraint = Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
    const outage = new Error('database is locked');
    const reportedByCaller = (error: unknown) => error === constraint;
    const fail = (error: Error) => withStorage(logger, () => Promise.reject(error), { reportedByCaller });
    await expect(fail(constraint)).rejects.toMatchObject({ code: 'UNAVAILABLE', cause: constraint });
    await expect(fail(outage)).rejects.toBeInstanceOf(RealtimeError);
    expect(logged).toEqual(['error: storage failed: database is locked']);
  });
});
