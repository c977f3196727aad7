import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { REALTIME_CONNECTION } from './data-source-options.js';
import { withStorage } from './storage-failure.js';

/**
 * Runs every write of the module, in a transaction. TypeORM's SQLite driver
 * runs everything on one connection, so two interleaved transactions would
 * nest into each other: on SQLite they run one after another (reads are not
 * queued and may see a transaction in progress). PostgreSQL gives each its
 * own pooled connection. A failure of the database becomes UNAVAILABLE.
 */
@Injectable()
export class TransactionRunner {
  private readonly logger = new Logger('RealtimeDatabase');
  private readonly serialised: boolean;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource(REALTIME_CONNECTION) private readonly dataSource: DataSource) {
    this.serialised = dataSource.options.type === 'better-sqlite3';
  }

  get isPostgres(): boolean {
    return this.dataSource.options.type === 'postgres';
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const transaction = () => withStorage(this.logger, () => this.dataSource.transaction(work));
    if (!this.serialised) return transaction();
    const result = this.tail.then(transaction);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
