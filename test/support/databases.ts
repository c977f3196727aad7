import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describeNeeding, postgresMissing } from './requirements.js';

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

/** Runs the same suite on SQLite and on PostgreSQL (where PostgreSQL cannot run, see describeNeeding). */
export function describeEachDatabase(title: string, suite: (kind: DatabaseKind) => void): void {
  describe(`${title} [sqlite]`, () => suite('sqlite'));
  describeNeeding(`${title} [postgres]`, postgresMissing(), () => suite('postgres'));
}
