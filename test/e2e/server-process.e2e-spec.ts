import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEachDatabase, freshDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { freePort } from '../support/postgres-server.js';
import { runTool, ServerProcess } from '../support/server-process.js';
import { TestClient } from '../support/test-client.js';
import { waitUntil } from '../support/wait.js';

/**
 * The README's path, on the compiled server: start it, mint tokens with
 * `npm run token`'s script, chat, restart, see the history, change roles.
 */
const running: ServerProcess[] = [];
const track = (server: ServerProcess) => (running.push(server), server);
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop()));
});

/** Runs a test body; a failure carries the servers' last log lines, which explain it. */
async function withServerLogs(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const logs = running.map((server) => server.output.split('\n').slice(-40).join('\n')).join('\n---\n');
    (error as Error).message += `\n\nserver output:\n${logs}`;
    throw error;
  }
}

describeEachDatabase('the runnable server', (kind) => {
  it('starts on a development secret, chats with minted tokens, keeps history across a restart, and applies role changes at once', () => withServerLogs(async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'switchboard-server-'));
    const port = await freePort();
    const database = await freshDatabase(kind);
    const env = { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'debug', BOOTSTRAP_ADMINS: 'alice', ...database.variables };
    const url = `ws://127.0.0.1:${port}/ws`;
    const httpUrl = `http://127.0.0.1:${port}`;

    let server = track(ServerProcess.start(workdir, env));
    await server.listening();
    expect(server.output).toContain('using the development secret in data/.dev-jwt-secret');
    expect(statSync(join(workdir, 'data/.dev-jwt-secret')).mode & 0o777).toBe(0o600);

    const mint = async (...args: string[]) => {
      const { code, stdout, stderr } = await runTool('dist/src/cli/mint-token.js', args, workdir);
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      return stdout.trim();
    };
    const aliceToken = await mint('alice');
    const bobToken = await mint('bob', '--name', 'Bob');
    const alice = await TestClient.connect(url, { token: aliceToken, via: 'query' });
    const bob = await TestClient.connect(url, { token: bobToken });
    await alice.ok('room.join', { room: 'general' });
    await bob.ok('room.join', { room: 'general' });
    await alice.ok('message.send', { room: 'general', text: 'hello from the quick start', clientMsgId: 'q1' });
    expect((await bob.nextPush('message', 'general')).data).toMatchObject({ text: 'hello from the quick start', sender: { id: 'alice' } });
    await Promise.all([alice.close(), bob.close()]);
    await server.stop();

    server = track(ServerProcess.start(workdir, env));
    await server.listening();
    const bobAgain = await TestClient.connect(url, { token: bobToken });
    expect((await bobAgain.ok('history.fetch', { room: 'general' })).messages.map((m: { text: string }) => m.text)).toEqual([
      'hello from the quick start',
    ]);
    expect((await bobAgain.ok('message.send', { room: 'general', text: 'a member by default', clientMsgId: 'q2' })).seq).toBe(2);
    expect((await http(httpUrl, 'PUT', '/admin/users/bob/roles/viewer', { token: aliceToken })).status).toBe(201);
    // bob now holds an assignment (viewer), so the default member role no longer applies.
    expect((await bobAgain.error('message.send', { room: 'general', text: 'refused', clientMsgId: 'q3' })).code).toBe('FORBIDDEN');
    await bobAgain.close();

    // The terminal client of the quick start shows the history, then sends what is typed.
    const carol = await runTool('dist/src/cli/chat.js', ['carol', 'general', '--url', url], workdir, {}, async ({ write, output }) => {
      await waitUntil(() => output().includes('#2 Bob: a member by default'), 10_000);
      write('hello from the terminal');
      await waitUntil(() => output().includes('#3 carol: hello from the terminal'), 10_000);
    });
    expect(carol.code).toBe(0);
    expect(carol.stdout).toContain('#1 alice: hello from the quick start');
    expect((await http(httpUrl, 'GET', '/admin/roles', { token: bobToken })).status).toBe(403);
    // However the query parameter is spelled, its value is not logged.
    const nowhere = await fetch(`${httpUrl}/nowhere?access%5Ftoken=${aliceToken}`);
    // Nor echoed in the answer for an unknown route.
    expect([nowhere.status, ((await nowhere.json()) as { message: string }).message]).toEqual([404, 'Cannot GET /nowhere']);
    expect((await fetch(`${httpUrl}/rooms/x/messages?access_token[]=${aliceToken}`)).status).toBe(401);
    expect((await fetch(`${httpUrl}/admin/roles?ACCESS_TOKEN=${aliceToken}&x=1`)).status).toBe(401);
    await server.stop();

    // Tokens never reach the logs, whatever carried them.
    for (const secret of [aliceToken, bobToken]) {
      expect(server.output).not.toContain(secret);
      expect(server.output).not.toContain(secret.split('.')[2]);
    }
    expect(server.output).toContain('access_token=[redacted]');
  }));
});

describe('the runnable server refuses a wrong configuration', () => {
  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ NODE_ENV: 'production' }, /JWT_SECRET or JWT_PUBLIC_KEY/],
    [{ JWT_SECRET: 'short' }, /JWT_SECRET must be at least 32 characters/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ WS_FIRST_FRAME_AUTH: 'maybe', DEFAULT_ROLE: 'not a role' }, /WS_FIRST_FRAME_AUTH[\s\S]*DEFAULT_ROLE|DEFAULT_ROLE[\s\S]*WS_FIRST_FRAME_AUTH/],
  ])('%o stops the start with a message naming the setting', async (env, message) => {
    const workdir = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
    const server = track(ServerProcess.start(workdir, { PORT: '0', ...env }));
    expect((await server.exited).code).toBe(1);
    expect(server.output).toMatch(message);
  });
});
