import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDatabase, type DatabaseKind, type TestDatabase } from './databases.js';
import { freePort } from './postgres-server.js';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET } from './tokens.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The environment of a compiled server on a loopback port that accepts the tokens of tokens.ts. */
export function testServerEnv(port: number, variables: Record<string, string>): Record<string, string> {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    JWT_SECRET: TEST_SECRET,
    JWT_ISSUER: TEST_ISSUER,
    JWT_AUDIENCE: TEST_AUDIENCE,
    ...variables,
  };
}

/** The compiled server (`dist/src/main.js`, built by `npm test`) as a child process, with its output kept. */
export class ServerProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    private readonly port: string | undefined,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  }

  static start(cwd: string, env: Record<string, string>): ServerProcess {
    return new ServerProcess(
      spawn(process.execPath, [resolve(root, 'dist/src/main.js')], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' }),
      env.PORT,
    );
  }

  /** Resolves once the server answers on its port; rejects if it exits first. */
  async listening(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      if (exited) throw new Error(`the server exited: ${this.output}`);
      if (Date.now() > deadline) throw new Error(`the server did not start: ${this.output}`);
      const live = await fetch(`http://127.0.0.1:${this.port}/health/live`).then(
        (response) => response.ok,
        () => false,
      );
      if (live) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/**
 * For tests that kill the compiled server and start it again: each test gets
 * a fresh database, a free port and a working directory; `start()` starts a
 * server on them (again after a kill), and every server started is stopped
 * after the test.
 */
export function restartableServer(kind: DatabaseKind) {
  let database: TestDatabase;
  let port: number;
  let workdir: string;
  const servers: ServerProcess[] = [];
  beforeEach(async () => {
    database = await freshDatabase(kind);
    port = await freePort();
    workdir = mkdtempSync(join(tmpdir(), 'switchboard-restarts-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });
  return {
    get wsUrl() {
      return `ws://127.0.0.1:${port}/ws`;
    },
    async start(): Promise<ServerProcess> {
      const server = ServerProcess.start(workdir, testServerEnv(port, { SHUTDOWN_TIMEOUT_MS: '5000', ...database.variables }));
      servers.push(server);
      await server.listening();
      return server;
    },
  };
}

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a compiled command-line tool of the project (the token minter, the
 * chat client). `interact` may write to its stdin while it runs, seeing its
 * output so far; stdin is closed when it returns.
 */
export function runTool(
  script: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  interact?: (io: { write(line: string): void; output(): string }) => Promise<void>,
): Promise<ToolRun> {
  const child = spawn(process.execPath, [resolve(root, script), ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', done));
  const interaction = (interact ?? (async () => undefined))({ write: (line) => child.stdin.write(`${line}\n`), output: () => stdout }).finally(
    () => child.stdin.end(),
  );
  return Promise.all([exited, interaction]).then(([code]) => ({ code, stdout, stderr }));
}
