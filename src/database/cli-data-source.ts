import { DataSource } from 'typeorm';
import { loadEnvFile } from '../cli/load-env-file.js';
import { parseEnvironment } from '../config/environment.js';
import { ownDataSourceOptions } from './data-source-options.js';

/**
 * For the TypeORM CLI (`npm run migration:run`, `migration:revert`,
 * `migration:show`): the server's database, from .env and the environment.
 */
loadEnvFile();
const env = parseEnvironment(process.env);

export default new DataSource(
  ownDataSourceOptions(
    env.DATABASE_URL
      ? { type: 'postgres', url: env.DATABASE_URL, runMigrations: false }
      : { type: 'sqlite', path: env.DATABASE_PATH, runMigrations: false },
  ),
);
