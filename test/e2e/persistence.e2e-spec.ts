import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
    expect(await typeormCli('migration:show', database)).toContain('[X] 1 CreateRealtimeTables1763800000000');

    const server = await startServer(database, { DATABASE_RUN_MIGRATIONS: 'false' });
    const roles = await http(server.httpUrl, 'GET', '/admin/roles', { token: token('root') });
    expect(roles.body.map((r: { name: string }) => r.name)).toEqual(['admin', 'member', 'moderator', 'viewer']);
    await server.close();

    await typeormCli('migration:revert', database);
    expect(await typeormCli('migration:show', database)).toContain('[ ] CreateRealtimeTables1763800000000');
  });
});
