import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres-server.js';

/** A throwaway redis-server from the Debian package, on a free loopback port, without persistence. */
export interface RedisServer {
  url: string;
  port: number;
  directory: string;
}

export function findRedisServer(): string | null {
  return existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : null;
}

export async function startRedis(): Promise<RedisServer> {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-redis-'));
  const server = { port: await freePort(), directory, url: '' };
  server.url = `redis://127.0.0.1:${server.port}`;
  resumeRedis(server);
  return server;
}

/** Starts (again) on the same port. */
export function resumeRedis({ port, directory }: RedisServer): void {
  const result = spawnSync('/usr/bin/redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'yes',
    '--dir',
    directory,
    '--pidfile',
    join(directory, 'redis.pid'),
    '--logfile',
    join(directory, 'redis.log'),
  ]);
  if (result.status !== 0) throw new Error(`redis-server failed to start: ${result.stderr}`);
  // Daemonized: wait until it accepts connections.
  const deadline = Date.now() + 5000;
  while (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG') {
    if (Date.now() > deadline) throw new Error('redis-server did not come up');
    spawnSync('sleep', ['0.05']);
  }
}

/** Stops it by its pid (an outage, or the end of the tests). */
export function pauseRedis({ directory }: RedisServer): void {
  const pidFile = join(directory, 'redis.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
      spawnSync('sleep', ['0.05']);
    } catch {
      return;
    }
  }
}

/** Freezes (SIGSTOP) or thaws (SIGCONT) the server: its connections stay open and nothing is answered, as in a silent partition. */
export function freezeRedis({ directory }: RedisServer, frozen: boolean): void {
  const pid = Number(readFileSync(join(directory, 'redis.pid'), 'utf8').trim());
  process.kill(pid, frozen ? 'SIGSTOP' : 'SIGCONT');
}

export function stopRedis(server: RedisServer): void {
  pauseRedis(server);
  rmSync(server.directory, { recursive: true, force: true });
}
