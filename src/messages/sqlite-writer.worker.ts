/**
 * The SQLite writer thread: stores batches of messages on its own connection
 * to the database file, so that each commit's sync to disk blocks this thread
 * instead of the server's event loop. Started by SqliteWriterThread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { sqliteQuery, storeBatch } from './message-batch.js';
import type { WriterRequest, WriterResponse, WriterSettings } from './sqlite-writer-thread.js';

const { path, synchronous, busyTimeoutMs } = workerData as WriterSettings;
// Waiting for a lock another connection holds blocks only this thread.
const database = new Database(path, { timeout: busyTimeoutMs });
// As TypeORM's connection has it.
database.pragma('journal_mode = WAL');
database.pragma('foreign_keys = ON');
database.pragma(`synchronous = ${synchronous}`);
const query = sqliteQuery(database);
// Prepared once: `exec` parses its SQL on every call.
const begin = database.prepare('BEGIN IMMEDIATE');
const commit = database.prepare('COMMIT');
const rollback = database.prepare('ROLLBACK');
const port = parentPort!;

async function store({ id, batch, now }: WriterRequest): Promise<WriterResponse> {
  try {
    // IMMEDIATE: take the write lock up front, so the transaction never fails half-way to upgrade it.
    begin.run();
    try {
      const outcomes = await storeBatch(query, batch, now);
      commit.run();
      return { id, outcomes };
    } finally {
      if (database.inTransaction) rollback.run();
    }
  } catch (error) {
    const { message, code } = error as { message: string; code?: string };
    return { id, error: { message, code } };
  }
}

// One batch at a time, in the order they came.
let tail = Promise.resolve();
port.on('message', (request: WriterRequest | 'close') => {
  tail = tail.then(async () => {
    if (request === 'close') {
      database.close();
      port.close();
      return;
    }
    port.postMessage(await store(request));
  });
});
