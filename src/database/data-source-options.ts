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
      // A second process (the migration CLI) may hold the write lock for a moment.
      timeout: 5000,
    };
  }
  return {
    ...common,
    type: 'postgres',
    url: database.url,
    poolSize: database.poolSize ?? 10,
  };
}
