/**
 * The SQLite writer thread: stores batches of messages on its own connection
 * to the database file, so that each commit's sync to disk blocks this thread
 * instead of the server's event loop. Started by SqliteWriterThread.
 */
import { receiveMessageOnPort, parentPort, workerData } from 'node:worker_threads';
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
const savepoint = database.prepare('SAVEPOINT batch');
const release = database.prepare('RELEASE batch');
const rollbackToSavepoint = database.prepare('ROLLBACK TO batch');
const port = parentPort!;

const failure = (id: number, error: unknown): WriterResponse => {
  const { message, code } = error as { message: string; code?: string };
  return { id, error: { message, code } };
};

/**
 * The requests in one transaction, each in a savepoint of its own: one that
 * fails is rolled back alone and answered with its error; the others are
 * committed, with one sync to disk for all of them.
 */
async function store(requests: WriterRequest[]): Promise<WriterResponse[]> {
  try {
    // IMMEDIATE: take the write lock up front, so the transaction never fails half-way to upgrade it.
    begin.run();
    try {
      const responses: WriterResponse[] = [];
      for (const { id, batch, now } of requests) {
        savepoint.run();
        try {
          responses.push({ id, outcomes: await storeBatch(query, batch, now) });
        } catch (error) {
          rollbackToSavepoint.run();
          responses.push(failure(id, error));
        }
        release.run();
      }
      commit.run();
      return responses;
    } finally {
      if (database.inTransaction) rollback.run();
    }
  } catch (error) {
    return requests.map(({ id }) => failure(id, error));
  }
}

/**
 * The batch the thread was woken for and every batch posted behind it
 * meanwhile (the server's second batch in flight, often posted before this
 * thread got to the first): one transaction and one sync to disk for all.
 * `closing` if the thread was asked to stop among them.
 */
function takeQueued(first: WriterRequest): { requests: WriterRequest[]; closing: boolean } {
  const requests = [first];
  for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) {
    const request = next.message as WriterRequest | 'close';
    if (request === 'close') return { requests, closing: true };
    requests.push(request);
  }
  return { requests, closing: false };
}

// One transaction at a time, in the order the batches came.
let tail = Promise.resolve();
port.on('message', (request: WriterRequest | 'close') => {
  const { requests, closing } = request === 'close' ? { requests: [], closing: true } : takeQueued(request);
  tail = tail.then(async () => {
    if (requests.length > 0) port.postMessage(await store(requests));
    if (closing) {
      database.close();
      port.close();
    }
  });
});
