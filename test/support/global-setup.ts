import { existsSync } from 'node:fs';
import { findPostgresBinaries, startPostgres } from './postgres-server';

/**
 * Starts one PostgreSQL cluster for the e2e run; each suite creates its own
 * database in it. Without PostgreSQL (or redis-server) the suites that need
 * it say they skipped, except with CI=true, where a missing server fails the run.
 */
export default async function globalSetup(): Promise<void> {
  // TEST_DATABASES=sqlite is a local shortcut; in CI it would silently skip the PostgreSQL and cluster suites.
  if (process.env.TEST_DATABASES === 'sqlite' && process.env.CI === 'true') {
    throw new Error('CI=true and TEST_DATABASES=sqlite: CI runs every suite; unset TEST_DATABASES');
  }
  if (process.env.TEST_DATABASES === 'sqlite') {
    process.env.TEST_POSTGRES_MISSING = 'TEST_DATABASES=sqlite asks for the SQLite suites only';
    return;
  }
  // The cluster suites start their own redis-server processes: here it only must exist.
  if (!existsSync('/usr/bin/redis-server')) {
    if (process.env.CI === 'true') {
      throw new Error('CI=true but redis-server is not installed (apt-get install -y redis-server): the cluster suites cannot run');
    }
    process.env.TEST_REDIS_MISSING = 'redis-server is not installed (apt-get install -y redis-server)';
  }
  const binaries = findPostgresBinaries();
  if (!binaries) {
    if (process.env.CI === 'true') {
      throw new Error('CI=true but PostgreSQL is not installed (apt-get install -y postgresql): the PostgreSQL suites cannot run');
    }
    process.env.TEST_POSTGRES_MISSING = 'PostgreSQL is not installed (apt-get install -y postgresql)';
    return;
  }
  const server = await startPostgres(binaries);
  process.env.TEST_POSTGRES_URL = server.url;
  process.env.TEST_POSTGRES_DIRECTORY = server.directory;
  process.env.TEST_POSTGRES_BINARIES = server.binaries;
}
