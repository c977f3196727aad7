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

/**
 * Connections in the PostgreSQL pool the module's queries use: its own, or the
 * host DataSource's (TypeORM hands `poolSize` to pg as `max`, and `extra.max`
 * overrides it; pg's default is 10).
 */
export function postgresPoolSize(database: DatabaseOptions): number {
  if ('dataSource' in database) {
    const options = database.dataSource.options as { poolSize?: number; extra?: { max?: number } };
    return options.extra?.max ?? options.poolSize ?? 10;
  }
  return database.type === 'postgres' ? (database.poolSize ?? 10) : 10;
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
    poolSize: postgresPoolSize(database),
    // A database that hangs (rather than refuses) must still be answered UNAVAILABLE, not forever.
    connectTimeoutMS: timeout,
    extra: { query_timeout: timeout, statement_timeout: timeout, keepAlive: true, keepAliveInitialDelayMillis: 10_000 },
  };
}
