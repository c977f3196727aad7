import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname ?? new URL('../..', import.meta.url).pathname, '../..');

export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/**
 * A throwaway PostgreSQL cluster (Debian's package) on a free loopback port,
 * its processes allowed on `cores` (taskset's list; by default they inherit
 * the caller's).
 */
export async function startPostgres({ cores } = {}) {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => b - a) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql)');
  const bin = `/usr/lib/postgresql/${versions[0]}/bin`;
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-bench-pg-'));
  const asRoot = process.getuid() === 0;
  if (asRoot) chownSync(directory, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const run = (binary, args, { absolute = false } = {}) => {
    const program = absolute ? binary : `${bin}/${binary}`;
    const [command, commandArgs] = asRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
    const result = spawnSync(command, commandArgs, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${binary} failed: ${result.stderr}`);
  };
  const port = await freePort();
  run('initdb', ['-D', `${directory}/data`, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  // Durable commits (fsync on) as in production: the benchmark measures what an ack costs.
  const startArgs = ['-D', `${directory}/data`, '-w', '-l', `${directory}/log`, '-o', `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1 -c max_connections=200`, 'start'];
  // runuser keeps taskset's affinity for the postmaster it starts, and the postmaster for its backends.
  if (cores) run('taskset', ['-c', cores, `${bin}/pg_ctl`, ...startArgs], { absolute: true });
  else run('pg_ctl', startArgs);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      run('pg_ctl', ['-D', `${directory}/data`, '-m', 'fast', '-w', 'stop']);
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A throwaway redis-server (Debian's package) on a free loopback port. */
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let tries = 0; spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().trim() !== 'PONG'; tries++) {
    if (tries > 100) throw new Error('redis-server did not start');
    spawnSync('sleep', ['0.05']);
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill() };
}

/**
 * Starts a server process pinned to `cores` (taskset), resolves once it
 * answers `readyPath`, and returns its pid for /proc readings.
 */
export async function startProcess({ command, args, env, port, cores, readyPath = '/health/live' }) {
  const pinned = cores ? ['taskset', ['-c', cores, command, ...args]] : [command, args];
  const child = spawn(pinned[0], pinned[1], { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk) => (errors += chunk));
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`${command} exited: ${errors}`);
    const ok = await fetch(`http://127.0.0.1:${port}${readyPath}`).then((r) => r.status < 500, () => false);
    if (ok) break;
    if (tries > 300) throw new Error(`${command} did not start: ${errors}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid,
    stop: () => new Promise((done) => (child.exitCode !== null ? done() : (child.once('exit', done), child.kill('SIGTERM')))),
  };
}
