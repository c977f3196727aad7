import { Worker } from 'node:worker_threads';
import type { BatchEntry, BatchOutcome } from './message-batch.js';

export interface WriterSettings {
  /** The database file; the thread opens its own connection to it (WAL lets the server's connection read meanwhile). */
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  /** How long a batch waits for the write lock another connection holds before it fails. */
  busyTimeoutMs: number;
  /** After a thread dies, batches fail for this long before another is started (a thread that cannot open the file must not be restarted for every batch). */
  restartDelayMs: number;
}

export interface WriterRequest {
  id: number;
  batch: BatchEntry[];
  now: number;
}

export type WriterResponse = { id: number; outcomes: BatchOutcome[] } | { id: number; error: { message: string; code?: string } };

/** A batch refused before it reached the database: certainly not stored (no commit to look for). */
export class NothingStoredError extends Error {
  readonly nothingStored = true;
}

interface PendingBatch {
  id: number;
  resolve(outcomes: BatchOutcome[]): void;
  reject(error: Error): void;
}

/**
 * Stores message batches on a worker thread with its own SQLite connection:
 * better-sqlite3 is synchronous, and a commit's sync to disk (milliseconds,
 * hundreds of them when the disk is busy) would otherwise stall every socket
 * of the server. A thread that dies fails its batches and is started again
 * for the next one.
 */
export class SqliteWriterThread {
  private worker: Worker | null = null;
  /** In the order they were sent, which is the order the thread answers them in (a map churned its table per batch). */
  private pending: PendingBatch[] = [];
  private nextId = 1;
  private restartAt = 0;

  /** `onCommitted`: told the number of messages of each transaction the thread commits (it may take several batches into one), refused ones left out. */
  constructor(
    private readonly settings: WriterSettings,
    private readonly onCommitted: (messages: number) => void = () => undefined,
  ) {}

  store(batch: BatchEntry[], now: number): Promise<BatchOutcome[]> {
    if (!this.worker && Date.now() < this.restartAt) return Promise.reject(new NothingStoredError('the SQLite writer thread is restarting'));
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    // While it has batches, the thread keeps the process alive (a script with nothing else would exit before their answers).
    if (this.pending.length === 0) worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.push({ id, resolve, reject });
      worker.postMessage({ id, batch, now } satisfies WriterRequest);
    });
  }

  /**
   * Lets the thread finish the batches it has (each bounded by the busy
   * timeout), closes its connection and waits for it to end. Never
   * `terminate()`: stopping a thread inside better-sqlite3 aborts the process.
   */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    // Until it has ended, the thread keeps the process alive: the code awaiting close() still runs.
    worker.ref();
    worker.postMessage('close');
    await exited;
  }

  private start(): Worker {
    const worker = new Worker(workerFile(), { workerData: this.settings });
    // The answers to the batches of one transaction, in the order they were posted.
    worker.on('message', (responses: WriterResponse[]) => {
      let committed = 0;
      for (const response of responses) {
        if (this.pending[0]?.id !== response.id) continue;
        const batch = this.pending.shift()!;
        if ('outcomes' in response) {
          // A message the database refused was rolled back: as on PostgreSQL, it is not part of the commit.
          for (const outcome of response.outcomes) if (!('refused' in outcome)) committed++;
          batch.resolve(response.outcomes);
        } else batch.reject(Object.assign(new Error(response.error.message), { code: response.error.code }));
      }
      if (committed > 0) this.onCommitted(committed);
      if (this.pending.length === 0) worker.unref();
    });
    const stopped = (reason: string) => {
      if (this.worker === worker) {
        this.worker = null;
        this.restartAt = Date.now() + this.settings.restartDelayMs;
      }
      const failed = this.pending;
      this.pending = [];
      for (const batch of failed) batch.reject(new Error(`the SQLite writer thread stopped: ${reason}`));
    };
    worker.on('error', (error) => stopped(error.message));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    // The server may exit while the thread idles; close() ends it cleanly on shutdown.
    worker.unref();
    return worker;
  }
}

/**
 * The compiled worker beside this file; under ts-jest, which runs the
 * TypeScript sources, the build's copy (`npm test` builds first).
 */
function workerFile(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../../dist/src/messages/sqlite-writer.worker.js', import.meta.url)
    : new URL('./sqlite-writer.worker.js', import.meta.url);
}
