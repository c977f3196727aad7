import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type DatabaseKind = 'sqlite' | 'postgres';

/** An empty database of its own for one suite. */
export interface TestDatabase {
  kind: DatabaseKind;
  /** The server settings that point at it. */
  variables: Record<string, string>;
  /** For tests that open their own TypeORM DataSource on it. */
  sqlitePath?: string;
  postgresUrl?: string;
}

export async function freshDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const sqlitePath = join(mkdtempSync(join(tmpdir(), 'switchboard-test-')), 'switchboard.sqlite');
    return { kind, sqlitePath, variables: { DATABASE_PATH: sqlitePath } };
  }
  const serverUrl = process.env.TEST_POSTGRES_URL;
  if (!serverUrl) throw new Error('the PostgreSQL test server is not running');
  const name = `switchboard_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const postgresUrl = serverUrl.replace(/\/postgres$/, `/${name}`);
  return { kind, postgresUrl, variables: { DATABASE_URL: postgresUrl } };
}

/** The databases the e2e suites run on: SQLite always, PostgreSQL unless it is missing outside CI. */
function databaseKinds(): DatabaseKind[] {
  if (process.env.TEST_DATABASES === 'sqlite') return ['sqlite'];
  return ['sqlite', 'postgres'];
}

/**
 * Runs the same suite on each database. Where PostgreSQL is not installed
 * (and CI is not set: the global setup fails the run there) its half is
 * reported as skipped, with the reason.
 */
export function describeEachDatabase(title: string, suite: (kind: DatabaseKind) => void): void {
  for (const kind of databaseKinds()) {
    const missing = kind === 'postgres' ? process.env.TEST_POSTGRES_MISSING : undefined;
    if (missing) {
      // Skipped only where PostgreSQL is absent and CI is unset; CI=true fails in global-setup instead.
      describe.skip(`${title} [postgres: skipped, ${missing}]`, () => suite(kind));
    } else {
      describe(`${title} [${kind}]`, () => suite(kind));
    }
  }
}
