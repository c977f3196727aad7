import type { DataSourceOptions } from 'typeorm';
import type { DatabaseOptions } from '../realtime-options.js';
import { realtimeEntities, realtimeMigrations } from './realtime-schema.js';

/** The name of the module's connection in @nestjs/typeorm tokens. */
export const REALTIME_CONNECTION = 'switchboard';

type OwnDatabaseOptions = Exclude<DatabaseOptions, { dataSource: unknown }>;

/**
 * An ack means stored: by default each commit is synced to disk (better-sqlite3
 * defaults to NORMAL in WAL mode, which a power loss may undo).
 */
export function sqliteSynchronous(database: { synchronous?: 'full' | 'normal' }): 'FULL' | 'NORMAL' {
  return database.synchronous === 'normal' ? 'NORMAL' : 'FULL';
}

/** Options of a DataSource the module opens itself (server, CLI, tests). */
export function ownDataSourceOptions(database: OwnDatabaseOptions): DataSourceOptions {
  const common = {
    entities: realtimeEntities,
    migrations: realtimeMigrations,
    migrationsTableName: 'switchboard_migrations',
    // Run by DatabaseModule under a lock, so that nodes starting together do not race.
    migrationsRun: false,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: false,
  };
  if (database.type === 'sqlite') {
    return {
      ...common,
      type: 'better-sqlite3',
      database: database.path,
      enableWAL: true,
      prepareDatabase: (db: { pragma(statement: string): unknown }) => {
        db.pragma(`synchronous = ${sqliteSynchronous(database)}`);
      },
      // better-sqlite3 waits for a lock by blocking the whole event loop: it does not wait
      // at all here, and TransactionRunner retries a busy transaction asynchronously instead.
      timeout: 0,
    };
  }
  const timeout = database.statementTimeoutMs ?? 15_000;
  return {
    ...common,
    type: 'postgres',
    url: database.url,
    poolSize: database.poolSize ?? 10,
    // A database that hangs (rather than refuses) must still be answered UNAVAILABLE, not forever.
    connectTimeoutMS: timeout,
    extra: { query_timeout: timeout, statement_timeout: timeout, keepAlive: true, keepAliveInitialDelayMillis: 10_000 },
  };
}
