import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { REALTIME_CONNECTION } from './data-source-options.js';
import { withStorage, type StorageOptions } from './storage-failure.js';

/** How long a SQLite transaction keeps retrying while another connection holds the write lock. */
const BUSY_RETRY_MS = 5000;

/** The part of node-postgres' pool (TypeORM's `driver.master`) that runs a named statement. */
interface PostgresPool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs every write of the module, in a transaction. TypeORM's SQLite driver
 * runs everything on one connection, so two interleaved transactions would
 * nest into each other: on SQLite they run one after another (reads are not
 * queued and may see a transaction in progress), and a transaction that finds
 * the file locked by another connection (a host's, the migration CLI) is
 * retried without blocking the event loop. PostgreSQL gives each transaction
 * its own pooled connection. A failure of the database becomes UNAVAILABLE.
 */
@Injectable()
export class TransactionRunner {
  private readonly logger = new Logger('RealtimeDatabase');
  private readonly serialised: boolean;
  private tail: Promise<unknown> = Promise.resolve();
  /** On PostgreSQL with prepared statements: each statement's name, by its text. */
  private readonly statementNames: Map<string, string> | null;

  constructor(
    @InjectDataSource(REALTIME_CONNECTION) private readonly dataSource: DataSource,
    @Inject(REALTIME_OPTIONS) { database }: ResolvedRealtimeOptions,
  ) {
    this.serialised = dataSource.options.type === 'better-sqlite3';
    const prepared = !('type' in database && database.type === 'sqlite') && (database.preparedStatements ?? true);
    this.statementNames = this.isPostgres && prepared ? new Map() : null;
  }

  get isPostgres(): boolean {
    return this.dataSource.options.type === 'postgres';
  }

  /**
   * PostgreSQL: work of single statements, each a transaction of its own,
   * prepared once per pooled connection unless the options say otherwise.
   * `query` throws the driver's errors, for the work to recognise; what
   * escapes the work becomes UNAVAILABLE.
   */
  statements<T>(work: (query: (sql: string, params: unknown[]) => Promise<any>) => Promise<T>, options?: StorageOptions): Promise<T> {
    if (!this.isPostgres) throw new Error('TransactionRunner.statements is for PostgreSQL');
    const query = this.statementNames ? this.preparedQuery : (sql: string, params: unknown[]) => this.dataSource.query(sql, params);
    return withStorage(this.logger, () => work(query), options);
  }

  /** Straight on the pool: TypeORM's `query` cannot name a statement, and node-postgres prepares a named one once per connection. */
  private readonly preparedQuery = async (sql: string, params: unknown[]): Promise<unknown[]> => {
    const names = this.statementNames!;
    let name = names.get(sql);
    if (!name) names.set(sql, (name = `switchboard_${names.size + 1}`));
    const pool = (this.dataSource.driver as unknown as { master: PostgresPool }).master;
    return (await pool.query({ name, text: sql, values: params })).rows;
  };

  run<T>(work: (manager: EntityManager) => Promise<T>, options?: StorageOptions): Promise<T> {
    if (!this.serialised) return withStorage(this.logger, () => this.transaction(work), options);
    // From the request, not from its turn: transactions queued behind one waiting for the lock share its wait.
    const deadline = Date.now() + BUSY_RETRY_MS;
    const result = this.tail.then(() => withStorage(this.logger, () => this.retryWhileBusy(work, deadline), options));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * A unique violation means a concurrent transaction committed the row this
   * one looked for and did not find (two admins creating one room): run once
   * more, the work finds it and answers as it does for any existing row.
   */
  private async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.dataSource.transaction(work);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return this.dataSource.transaction(work);
    }
  }

  private async retryWhileBusy<T>(work: (manager: EntityManager) => Promise<T>, deadline: number): Promise<T> {
    for (let pause = 2; ; pause = Math.min(pause * 2, 100)) {
      try {
        return await this.transaction(work);
      } catch (error) {
        if (!isBusy(error) || Date.now() + pause > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }
}

/** The driver's error code, as thrown directly or wrapped by TypeORM. */
function driverCode(error: unknown): unknown {
  const cause = (error as { driverError?: unknown }).driverError ?? error;
  return (cause as { code?: unknown }).code;
}

/** SQLITE_BUSY (another connection writes) and its variants. */
function isBusy(error: unknown): boolean {
  const code = driverCode(error);
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

const UNIQUE_VIOLATIONS = new Set(['23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

function isUniqueViolation(error: unknown): boolean {
  return UNIQUE_VIOLATIONS.has(driverCode(error) as string);
}
