import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { ownDataSourceOptions, REALTIME_CONNECTION } from './data-source-options.js';
import { TransactionRunner } from './transaction-runner.service.js';

const dataSourceToken = getDataSourceToken(REALTIME_CONNECTION);

/**
 * The module's DataSource, registered under @nestjs/typeorm's token for the
 * `switchboard` connection so that `TypeOrmModule.forFeature` and
 * `@InjectRepository(Entity, REALTIME_CONNECTION)` work as usual. It is either
 * the host's (left to the host to close) or one the module opens and closes.
 */
@Global()
@Module({
  providers: [
    {
      provide: dataSourceToken,
      inject: [REALTIME_OPTIONS],
      useFactory: async (options: ResolvedRealtimeOptions): Promise<DataSource> => {
        const { database } = options;
        if ('dataSource' in database) {
          if (!database.dataSource.isInitialized) await database.dataSource.initialize();
          return database.dataSource;
        }
        const dataSource = new DataSource(ownDataSourceOptions(database));
        try {
          await dataSource.initialize();
        } catch (error) {
          // The URL may hold a password: name the database kind, not the URL.
          throw new Error(`could not open the ${database.type} database: ${(error as Error).message}`, { cause: error });
        }
        return dataSource;
      },
    },
    TransactionRunner,
  ],
  exports: [dataSourceToken, TransactionRunner],
})
export class DatabaseModule implements OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeDatabase');

  constructor(
    @Inject(dataSourceToken) private readonly dataSource: DataSource,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if ('dataSource' in this.options.database || !this.dataSource.isInitialized) return;
    await this.dataSource.destroy().catch((error: Error) => this.logger.error(`closing the database: ${error.message}`));
  }
}
