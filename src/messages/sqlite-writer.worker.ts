/**
 * The SQLite writer thread: stores batches of messages on its own connection
 * to the database file, so that each commit's sync to disk blocks this thread
 * instead of the server's event loop. Started by SqliteWriterThread.
 */
import { receiveMessageOnPort, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { isOneMessageFailure, sqliteQuery, storeBatch, type BatchEntry, type BatchOutcome } from './message-batch.js';
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

/** What crosses back of an error: its message and the driver's code. */
const errorData = (error: unknown) => {
  const { message, code } = error as { message: string; code?: string };
  return { message, code };
};
const failure = (id: number, error: unknown): WriterResponse => ({ id, error: errorData(error) });

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
      for (const request of requests) responses.push(await storeRequest(request));
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
 * One request's batch. When the database refuses one of its messages, the
 * others are stored one by one right here, in the batch's turn: retried by
 * the server after the answer, they would come after the batches posted
 * meanwhile (the server's other batch in flight, often in this very
 * transaction), and a sender's later message would get a lower seq.
 */
async function storeRequest({ id, batch, now }: WriterRequest): Promise<WriterResponse> {
  try {
    return { id, outcomes: await inSavepoint(() => storeBatch(query, batch, now)) };
  } catch (error) {
    if (!database.inTransaction) throw error;
    if (batch.length === 1 || !isOneMessageFailure(errorData(error).code)) return failure(id, error);
  }
  try {
    return { id, outcomes: await inSavepoint(() => storeEachAlone(batch, now)) };
  } catch (error) {
    if (!database.inTransaction) throw error;
    return failure(id, error);
  }
}

/** The entries one by one, in order, each in a savepoint; one the database refuses is answered as such. */
async function storeEachAlone(batch: BatchEntry[], now: number): Promise<BatchOutcome[]> {
  const outcomes: BatchOutcome[] = [];
  for (const entry of batch) {
    try {
      outcomes.push(...(await inSavepoint(() => storeBatch(query, [entry], now))));
    } catch (error) {
      // The database's own failure fails the whole request, as it would have at first.
      if (!isOneMessageFailure(errorData(error).code)) throw error;
      outcomes.push({ refused: errorData(error) });
    }
  }
  return outcomes;
}

/**
 * `work` in a savepoint (they nest under one name): if it fails, only what it
 * did is rolled back. Unless SQLite rolled back the whole transaction by
 * itself (a full disk, an I/O error): then no savepoint is left, and the
 * error fails every request of the transaction (see store), as nothing of
 * it was stored.
 */
async function inSavepoint<T>(work: () => Promise<T>): Promise<T> {
  savepoint.run();
  try {
    const result = await work();
    release.run();
    return result;
  } catch (error) {
    if (database.inTransaction) {
      rollbackToSavepoint.run();
      release.run();
    }
    throw error;
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
