import type { DataSourceOptions } from 'typeorm';
import type { DatabaseOptions } from '../realtime-options.js';
import { realtimeEntities, realtimeMigrations } from './realtime-schema.js';

/** The name of the module's connection in @nestjs/typeorm tokens. */
export const REALTIME_CONNECTION = 'switchboard';

type OwnDatabaseOptions = Exclude<DatabaseOptions, { dataSource: unknown }>;

/** Options of a DataSource the module opens itself (server, CLI, tests). */
export function ownDataSourceOptions(database: OwnDatabaseOptions): DataSourceOptions {
  const common = {
    entities: realtimeEntities,
    migrations: realtimeMigrations,
    migrationsTableName: 'switchboard_migrations',
    migrationsRun: database.runMigrations ?? true,
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
      // better-sqlite3 waits for a lock by blocking the whole event loop: it does not wait
      // at all here, and TransactionRunner retries a busy transaction asynchronously instead.
      timeout: 0,
    };
  }
  return {
    ...common,
    type: 'postgres',
    url: database.url,
    poolSize: database.poolSize ?? 10,
  };
}
