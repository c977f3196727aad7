import { DataSource } from 'typeorm';
import { ownDataSourceOptions } from '../../src/database/data-source-options.js';
import { describeEachDatabase, freshDatabase } from '../support/databases.js';

/**
 * A host adds realtimeEntities and realtimeMigrations to its own DataSource:
 * its `migration:generate` compares the entities with the migrated schema,
 * and must find nothing of the module's to change.
 */
describeEachDatabase('the migrations and the entities', (kind) => {
  it('describe the same schema', async () => {
    const { sqlitePath, postgresUrl } = await freshDatabase(kind);
    const dataSource = new DataSource(ownDataSourceOptions(kind === 'sqlite' ? { type: 'sqlite', path: sqlitePath! } : { type: 'postgres', url: postgresUrl! }));
    await dataSource.initialize();
    try {
      await dataSource.runMigrations({ transaction: 'each' });
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });
});
