import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { REALTIME_CONNECTION } from './data-source-options.js';

/** How often the worker moves the write-ahead log into the database file. */
const CHECKPOINT_INTERVAL_MS = 250;
/** The main connection still checkpoints past this many WAL pages (~40 MB): the worker is a help, not a dependency. */
const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;
const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

/**
 * better-sqlite3 runs on the event loop, and SQLite's automatic checkpoint
 * (copying the write-ahead log into the database file and syncing it) runs
 * inside whichever commit crosses the threshold: a stall of tens of
 * milliseconds for every socket on the node, every few thousand messages.
 * This worker thread checkpoints on its own connection instead (PASSIVE: it
 * never waits for, nor blocks, the writer), so commits only append to the log.
 */
@Injectable()
export class SqliteCheckpointer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeDatabase');
  private worker: Worker | null = null;

  constructor(@InjectDataSource(REALTIME_CONNECTION) private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    const { type, database } = this.dataSource.options;
    if (type !== 'better-sqlite3' || typeof database !== 'string' || database === ':memory:') return;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: database, intervalMs: CHECKPOINT_INTERVAL_MS } });
    worker.unref();
    worker.on('message', (message: { failed: string }) => this.logger.warn(`checkpointing the SQLite log: ${message.failed}`));
    worker.on('error', (error) => this.fallBack(`the checkpoint worker failed: ${error.message}`));
    worker.on('exit', () => {
      if (this.worker === worker) this.fallBack('the checkpoint worker stopped');
    });
    this.worker = worker;
    await this.dataSource.query(`PRAGMA wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  }

  async onApplicationShutdown(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.postMessage('stop');
    });
  }

  private fallBack(reason: string): void {
    this.worker = null;
    this.logger.warn(`${reason}; commits checkpoint the log themselves again`);
    if (this.dataSource.isInitialized) {
      this.dataSource.query(`PRAGMA wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES}`).catch(() => undefined);
    }
  }
}

/** The worker: plain CommonJS, as eval'd workers are; `require` resolves better-sqlite3 by its full path. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 1000 });
db.pragma('synchronous = FULL');
let lastFailure = '';
const checkpoint = (mode) => {
  try {
    db.pragma('wal_checkpoint(' + mode + ')');
    lastFailure = '';
  } catch (error) {
    // Reported once per kind of failure: a database that keeps failing must not flood the log.
    if (error.message !== lastFailure) parentPort.postMessage({ failed: error.message });
    lastFailure = error.message;
  }
};
const timer = setInterval(() => checkpoint('PASSIVE'), workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint('PASSIVE');
  db.close();
  parentPort.close();
});
`;
