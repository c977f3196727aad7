import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway PostgreSQL cluster from the Debian `postgresql` package, in a
 * temporary folder, listening on a free loopback port; fsync off, trust auth.
 */
export interface PostgresServer {
  url: string;
  port: number;
  directory: string;
  binaries: string;
}

export function findPostgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** initdb refuses to run as root: there, the cluster belongs to the `postgres` user. */
function run(binary: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  const result = spawnSync(command, commandArgs, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${binary} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
}

export async function startPostgres(binaries: string): Promise<PostgresServer> {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(directory, uid, gid);
  }
  run(join(binaries, 'initdb'), ['-D', join(directory, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const server = { url: '', port: await freePort(), directory, binaries };
  server.url = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
  resumePostgres(server);
  return server;
}

/** Starts a stopped cluster again, on the same port. */
export function resumePostgres({ port, directory, binaries }: PostgresServer): void {
  run(join(binaries, 'pg_ctl'), [
    '-D',
    join(directory, 'data'),
    '-w',
    '-l',
    join(directory, 'server.log'),
    '-o',
    `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`,
    'start',
  ]);
}

/** Stops the cluster but keeps its data, to simulate an outage. */
export function pausePostgres({ directory, binaries }: PostgresServer): void {
  run(join(binaries, 'pg_ctl'), ['-D', join(directory, 'data'), '-m', 'fast', '-w', 'stop']);
}

export function stopPostgres(server: Pick<PostgresServer, 'directory' | 'binaries'>): void {
  try {
    run(join(server.binaries, 'pg_ctl'), ['-D', join(server.directory, 'data'), '-m', 'fast', '-w', 'stop']);
  } catch {
    // Already stopped (a test that paused it failed before resuming it).
  } finally {
    rmSync(server.directory, { recursive: true, force: true });
  }
}
