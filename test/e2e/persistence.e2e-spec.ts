import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { Permission } from '../../src/authorization/permissions.js';
import { ownDataSourceOptions } from '../../src/database/data-source-options.js';
import { realtimeMigrations } from '../../src/database/realtime-schema.js';
import { describeEachDatabase, freshDatabase, type TestDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { TestClient } from '../support/test-client.js';
import { startServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';

const run = promisify(execFile);

/** The TypeORM CLI on the compiled data source, as `npm run migration:*` runs it (`npm test` builds first). */
async function typeormCli(command: string, database: TestDatabase): Promise<string> {
  const { stdout } = await run(process.execPath, ['node_modules/typeorm/cli.js', command, '-d', 'dist/src/database/cli-data-source.js'], {
    env: { PATH: process.env.PATH, ...database.variables },
  });
  return stdout;
}

describeEachDatabase('persistence', (kind) => {
  it('upgrades roles made with the wildcard `*` of the first version to every permission key, and back', async () => {
    const database = await freshDatabase(kind);
    const options = ownDataSourceOptions(
      kind === 'sqlite' ? { type: 'sqlite', path: database.sqlitePath! } : { type: 'postgres', url: database.postgresUrl! },
    );
    const [first] = realtimeMigrations;
    const dataSource = await new DataSource({ ...options, migrations: [first] }).initialize();
    try {
      await dataSource.runMigrations();
      // What the first version stored for an acme copy of `admin` and a role made with `*`.
      for (const [name, permissions] of [['admin', ['*']], ['ops', ['*', 'room.join']]] as const) {
        await dataSource.query(`INSERT INTO switchboard_roles (tenant_id, name, description, created_at, updated_at) VALUES ('acme', '${name}', '', 0, 0)`);
        for (const permission of permissions) {
          await dataSource.query(`INSERT INTO switchboard_role_permissions (tenant_id, role_name, permission) VALUES ('acme', '${name}', '${permission}')`);
        }
      }
    } finally {
      await dataSource.destroy();
    }

    const server = await startServer(database);
    const everything = [...Object.values(Permission)].sort();
    const roles = async (tid?: string) => {
      const { body } = await http(server.httpUrl, 'GET', '/admin/roles', { token: token('root', tid ? { tid } : {}) });
      return Object.fromEntries(body.map((role: { name: string; permissions: string[] }) => [role.name, role.permissions]));
    };
    expect((await roles()).admin).toEqual(everything);
    expect(await roles('acme')).toMatchObject({ admin: everything, ops: everything, viewer: ['history.read', 'presence.read', 'room.join'] });
    await server.close();

    const reverting = await new DataSource(options).initialize();
    try {
      // Back to the first version: every later migration undone, newest first.
      for (let migration = 1; migration < realtimeMigrations.length; migration++) await reverting.undoLastMigration();
      const wildcards = await reverting.query(`SELECT tenant_id, role_name FROM switchboard_role_permissions WHERE permission = '*' ORDER BY tenant_id, role_name`);
      expect(wildcards).toEqual([
        { tenant_id: '*', role_name: 'admin' },
        { tenant_id: 'acme', role_name: 'admin' },
        { tenant_id: 'acme', role_name: 'ops' },
      ]);
      expect(await reverting.query(`SELECT COUNT(*) AS n FROM switchboard_role_permissions WHERE role_name IN ('admin', 'ops')`)).toEqual([{ n: kind === 'sqlite' ? 3 : '3' }]);
    } finally {
      await reverting.destroy();
    }
  });

  it('keeps history, seq and idempotency across a server restart', async () => {
    const database = await freshDatabase(kind);
    let server = await startServer(database);
    let alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    for (let n = 1; n <= 3; n++) await alice.ok('message.send', { room: 'durable', text: `m${n}`, clientMsgId: `d${n}` });
    await alice.close();
    await server.close();

    server = await startServer(database);
    alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    expect((await alice.ok('history.fetch', { room: 'durable' })).messages.map((m: { text: string }) => m.text)).toEqual(['m1', 'm2', 'm3']);
    expect(await alice.ok('message.send', { room: 'durable', text: 'm3', clientMsgId: 'd3' })).toMatchObject({ seq: 3, duplicate: true });
    expect(await alice.ok('message.send', { room: 'durable', text: 'm4', clientMsgId: 'd4' })).toMatchObject({ seq: 4, duplicate: false });
    expect(await alice.ok('room.join', { room: 'durable' })).toEqual({ room: 'durable', lastSeq: 4 });
    await alice.close();
    await server.close();
  });

  it('migrates through the TypeORM CLI, for servers started with DATABASE_RUN_MIGRATIONS=false', async () => {
    const database = await freshDatabase(kind);
    expect(await typeormCli('migration:show', database)).toContain('[ ] CreateRealtimeTables1763800000000');
    await typeormCli('migration:run', database);
    expect(await typeormCli('migration:show', database)).toMatch(
      /\[X\] 1 CreateRealtimeTables1763800000000\n\s*\[X\] 2 AdminRoleListsItsPermissions\S*\n\s*\[X\] 3 AuditLogFindsDisconnects/,
    );

    const server = await startServer(database, { DATABASE_RUN_MIGRATIONS: 'false' });
    const roles = await http(server.httpUrl, 'GET', '/admin/roles', { token: token('root') });
    expect(roles.body.map((r: { name: string }) => r.name)).toEqual(['admin', 'member', 'moderator', 'viewer']);
    await server.close();

    for (let migration = 0; migration < realtimeMigrations.length; migration++) await typeormCli('migration:revert', database);
    expect(await typeormCli('migration:show', database)).toContain('[ ] CreateRealtimeTables1763800000000');
  });
});
