import { Global, Inject, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource, MigrationExecutor } from 'typeorm';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { ownDataSourceOptions, REALTIME_CONNECTION } from './data-source-options.js';
import { realtimeMigrations } from './realtime-schema.js';
import { TransactionRunner } from './transaction-runner.service.js';

const dataSourceToken = getDataSourceToken(REALTIME_CONNECTION);

/**
 * The module's DataSource, registered under @nestjs/typeorm's token for the
 * `switchboard` connection so that `TypeOrmModule.forFeature` and
 * `@InjectRepository(Entity, REALTIME_CONNECTION)` work as usual. It is either
 * the host's (left to the host to close) or one the module opens and closes.
 */
async function open(dataSource: DataSource, kind: string): Promise<DataSource> {
  try {
    return await dataSource.initialize();
  } catch (error) {
    // The URL may hold a password: name the database kind, not the URL.
    throw new Error(`could not open the ${kind} database: ${(error as Error).message}`, { cause: error });
  }
}

/** Any pending migrations; on PostgreSQL under an advisory lock, since several nodes may start at once. */
async function migrate(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type !== 'postgres') {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext('switchboard_migrations'))`);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('switchboard_migrations'))`).catch(() => undefined);
    await runner.release();
  }
}

/**
 * On the host's DataSource the host runs the module's migrations. Without them
 * every request would answer UNAVAILABLE ("no such table" in the log) and a
 * schema made by `synchronize` would lack the seeded roles: the start stops
 * instead, naming what to do. Checked when the app initialises (`init`,
 * `listen`), not when it is created: a host may run its migrations in between.
 */
async function assertMigrated(dataSource: DataSource): Promise<void> {
  const applied = new Set((await new MigrationExecutor(dataSource).getExecutedMigrations()).map((migration) => migration.name));
  const missing = realtimeMigrations.map((migration) => new migration().name).filter((name) => !applied.has(name));
  if (missing.length === 0) return;
  throw new Error(
    `RealtimeModule: the host's DataSource has not run ${missing.join(', ')}: add realtimeMigrations to its migrations ` +
      `and run them (migrationsRun: true, the typeorm CLI's migration:run, or dataSource.runMigrations() before app.init() or app.listen())`,
  );
}

@Global()
@Module({
  providers: [
    {
      provide: dataSourceToken,
      inject: [REALTIME_OPTIONS],
      useFactory: async ({ database }: ResolvedRealtimeOptions): Promise<DataSource> => {
        if (!('dataSource' in database)) {
          const dataSource = await open(new DataSource(ownDataSourceOptions(database)), database.type);
          if (database.runMigrations ?? true) await migrate(dataSource);
          return dataSource;
        }
        const shared = database.dataSource;
        const sqliteFile = shared.options.type === 'better-sqlite3' && shared.options.database !== ':memory:';
        if (shared.options.type !== 'postgres' && !sqliteFile) {
          throw new Error(
            `RealtimeModule: sharing a ${shared.options.type} DataSource is not supported; share a PostgreSQL or a better-sqlite3 file DataSource, or give the module its own database`,
          );
        }
        if (!shared.isInitialized) await shared.initialize();
        if (shared.options.type === 'postgres') return shared;
        // TypeORM's SQLite drivers run everything on one connection per DataSource, so the
        // host's transactions and the module's would nest into each other: the module
        // opens a connection of its own to the same file (the host runs the migrations).
        return open(new DataSource(ownDataSourceOptions({ type: 'sqlite', path: String(shared.options.database), runMigrations: false })), 'sqlite');
      },
    },
    TransactionRunner,
  ],
  exports: [dataSourceToken, TransactionRunner],
})
export class DatabaseModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeDatabase');

  constructor(
    @Inject(dataSourceToken) private readonly dataSource: DataSource,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    if ('dataSource' in this.options.database) await assertMigrated(this.options.database.dataSource);
  }

  async onApplicationShutdown(): Promise<void> {
    const hosts = 'dataSource' in this.options.database && this.options.database.dataSource === this.dataSource;
    if (hosts || !this.dataSource.isInitialized) return;
    await this.dataSource.destroy().catch((error: Error) => this.logger.error(`closing the database: ${error.message}`));
  }
}
