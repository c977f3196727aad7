import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { RoomEntity } from '../rooms/room.entity.js';
import { ownDataSourceOptions } from './data-source-options.js';
import { TransactionRunner } from './transaction-runner.service.js';

// On a real SQLite file with the module's migrations, another connection holding its write lock.
describe('TransactionRunner on SQLite', () => {
  let folder: string;
  let dataSource: DataSource;
  let operator: Database.Database;
  let transactions: TransactionRunner;

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    folder = mkdtempSync(join(tmpdir(), 'switchboard-transactions-'));
    const path = join(folder, 'db.sqlite');
    const database = { type: 'sqlite' as const, path };
    dataSource = await new DataSource(ownDataSourceOptions(database)).initialize();
    await dataSource.runMigrations();
    transactions = new TransactionRunner(dataSource, { database } as ResolvedRealtimeOptions);
    operator = new Database(path);
  });

  afterEach(async () => {
    jest.useRealTimers();
    if (operator.inTransaction) operator.exec('ROLLBACK');
    operator.close();
    await dataSource.destroy();
    rmSync(folder, { recursive: true, force: true });
    jest.restoreAllMocks();
  });

  it('answers the transactions queued behind one waiting for the lock within the same wait, not one wait each', async () => {
    operator.exec('BEGIN IMMEDIATE');
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const answers: string[] = [];
    const queued = ['a', 'b', 'c', 'd'].map((name) =>
      transactions
        .run((manager) => manager.insert(RoomEntity, { tenantId: '', name, title: null, lastSeq: 0, createdAt: 0, archivedAt: null }))
        .then(
          () => answers.push(`${name} stored`),
          (error: { code?: string }) => answers.push(`${name} ${error.code}`),
        ),
    );
    // Past the 5 s a transaction waits for the lock.
    for (let waited = 0; waited < 5200; waited += 100) await jest.advanceTimersByTimeAsync(100);
    expect(answers).toEqual(['a UNAVAILABLE', 'b UNAVAILABLE', 'c UNAVAILABLE', 'd UNAVAILABLE']);
    await Promise.all(queued);
  });

  it('leaves to the caller the failures it reports itself (a message the database refused), not logged as the database\'s', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    // Past the storage-failure throttle's last line (process-wide), so that a line would show.
    jest.setSystemTime(Date.now() + 3_600_000);
    const error = jest.spyOn(Logger.prototype, 'error');
    const refused = Object.assign(new Error('CHECK constraint failed: text'), { code: 'SQLITE_CONSTRAINT_CHECK' });
    const answer = transactions.run(() => Promise.reject(refused), { reportedByCaller: (failure) => failure === refused });
    await expect(answer).rejects.toMatchObject({ code: 'UNAVAILABLE', cause: refused });
    expect(error).not.toHaveBeenCalled();
  });
});
