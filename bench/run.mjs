/**
 * The benchmark: Switchboard (durable history and RBAC on) against a plain
 * `ws` server and a NestJS Socket.IO gateway (and, for reference, a naive
 * NestJS `ws` gateway), started by this script on this machine in this run.
 * Servers are pinned to one core and the load generator to the other.
 *
 *   npm run bench                       # everything, medians of 3 runs
 *   npm run bench -- --scenarios fanout,ramp --runs 1
 *
 * Writes a markdown report to bench/results/ (and bench/results/latest.md).
 * See bench/README.md for what each figure means.
 */
import { execFileSync, fork } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, hostname, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LatencySamples, openFleet, percentiles, runDurable } from './lib/load.mjs';
import { mainThreadCpuMs, processStats, threadCpuUs } from './lib/proc.mjs';
import { freePort, root, startPostgres, startProcess } from './lib/servers.mjs';
import { hs256Token } from './lib/tokens.mjs';

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'fanout,ramp,durable,sockets' },
    servers: { type: 'string', default: 'plain,socketio,nestws,switchboard,switchboard-normal' },
    runs: { type: 'string', default: '3' },
    /** Seconds measured per server and fixed load, in `windows` windows taken in turns with the other servers. */
    seconds: { type: 'string', default: '10' },
    windows: { type: 'string', default: '2' },
    /** Seconds at the load before each window is measured: the server was idle while the others were measured. */
    'window-warmup': { type: 'string', default: '2' },
    'ramp-seconds': { type: 'string', default: '4' },
    sockets: { type: 'string', default: '1000' },
    idle: { type: 'string', default: '10000' },
    'max-idle': { type: 'string', default: '19900' },
    'server-core': { type: 'string', default: '1' },
    /** The fixed fan-out loads, in deliveries per second. */
    loads: { type: 'string', default: '20000,50000' },
    out: { type: 'string' },
    /** Node options every server process is started with, baselines and Switchboard alike. */
    'node-flags': { type: 'string', default: '' },
    /** Writes a V8 CPU profile of every server process into this folder (see bench/README.md). */
    'cpu-prof': { type: 'string' },
    /** Writes a sampling heap profile of what outlives young-generation collections, per server process, into this folder. */
    survivors: { type: 'string' },
    /** The same, keeping every sampled allocation: what is allocated, which sets how often the young generation is collected. */
    allocations: { type: 'string' },
    /** Another build's dist folder (inside the project, so that it finds node_modules), run as one more server: an A/B of two builds in the same run. */
    compare: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const NODE_FLAGS = args['node-flags'].split(' ').filter(Boolean);
const LOADS = args.loads.split(',').map(Number);
const SECONDS = Number(args.seconds);
const WINDOWS = Math.max(1, Number(args.windows));
const SECRET = 'bench-secret-that-is-long-enough-0123456789';
const token = (sub) => hs256Token(SECRET, { sub });
const scenarios = new Set(args.scenarios.split(','));
const DURABLE_DATABASES = ['sqlite', 'sqlite-normal', 'postgres'];
const DATABASE_LABELS = { sqlite: 'SQLite (embedded)', 'sqlite-normal': 'SQLite, synchronous=NORMAL', postgres: 'PostgreSQL 15 (local)' };

const SERVERS = {
  plain: { label: 'plain ws', protocol: 'plain', script: 'bench/baselines/plain-ws.mjs', path: '/ws' },
  socketio: { label: 'Socket.IO on Nest', protocol: 'socketio', script: 'bench/baselines/nest-socketio.mjs', path: '/socket.io/' },
  nestws: { label: 'naive Nest ws gateway', protocol: 'plain', script: 'bench/baselines/nest-ws.mjs', path: '/ws' },
  switchboard: { label: 'Switchboard', protocol: 'switchboard', script: 'dist/src/main.js', path: '/ws' },
  // Commits reach the operating system, not the disk: what the disk's sync latency costs.
  'switchboard-normal': {
    label: 'Switchboard, synchronous=NORMAL',
    protocol: 'switchboard',
    script: 'dist/src/main.js',
    path: '/ws',
    env: { DATABASE_SQLITE_SYNCHRONOUS: 'normal' },
    // Its commits leave dirty pages that the kernel writes back 30 s later (vm.dirty_expire_centisecs), into
    // whichever server's window falls then: a synced commit waited behind them (bench/README.md).
    ownPass: true,
  },
};
if (args.compare) {
  SERVERS['switchboard-compare'] = { ...SERVERS.switchboard, label: `Switchboard (${args.compare})`, script: join(args.compare, 'src/main.js') };
  // Its durable publish on SQLite right after the build under test's.
  DURABLE_DATABASES.splice(1, 0, 'sqlite-compare');
  DATABASE_LABELS['sqlite-compare'] = `SQLite, ${args.compare}`;
}
const serverKeys = [...args.servers.split(','), ...(args.compare ? ['switchboard-compare'] : [])];
const isSwitchboard = (key) => key.startsWith('switchboard');
const SUBJECTS = serverKeys.filter(isSwitchboard);
const BASELINES = serverKeys.filter((key) => !isSwitchboard(key));

/** Limits a benchmark publisher would be given in production too: publishers here send hundreds of frames a second. */
const SWITCHBOARD_ENV = {
  JWT_SECRET: SECRET,
  LOG_LEVEL: 'warn',
  OPENAPI_DOCS: 'false',
  WS_RATE_LIMIT_PER_SECOND: '100000',
  WS_RATE_LIMIT_BURST: '100000',
  WS_MAX_SOCKETS_PER_USER: '100000',
};

async function startServer(key, { database = 'sqlite', postgresUrl } = {}) {
  const server = SERVERS[key];
  const port = await freePort();
  const env = { PORT: String(port), HOST: '127.0.0.1' };
  let directory;
  if (isSwitchboard(key)) {
    Object.assign(env, SWITCHBOARD_ENV, server.env);
    if (database === 'postgres') env.DATABASE_URL = postgresUrl;
    else {
      directory = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
      env.DATABASE_PATH = join(directory, 'bench.sqlite');
    }
  }
  const profiling = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`, `--cpu-prof-name=${key}-${port}.cpuprofile`] : [];
  const heapProfiles = args.survivors ?? args.allocations;
  if (heapProfiles) {
    mkdirSync(heapProfiles, { recursive: true });
    profiling.push('--import', join(root, 'bench/lib/survivor-sampling.mjs'));
    env.SURVIVOR_PROFILE = join(resolve(heapProfiles), `${key}-${port}.heapprofile`);
    if (!args.survivors) env.SAMPLE_ALL_ALLOCATIONS = '1';
  }
  const started = await startProcess({ command: process.execPath, args: [...NODE_FLAGS, ...profiling, server.script], env, port, cores: args['server-core'] });
  return {
    ...started,
    ...server,
    url: `ws://127.0.0.1:${port}${server.path}`,
    metricsUrl: isSwitchboard(key) ? `http://127.0.0.1:${port}/metrics` : null,
    stop: async () => {
      await started.stop();
      if (directory) rmSync(directory, { recursive: true, force: true });
    },
  };
}

const cpuMs = (server) => processStats(server.pid).cpuMs;

/** The database commits a Switchboard server has made so far (the count of its group-commit histogram); null for the others. */
async function commitsSoFar(server) {
  if (!server.metricsUrl) return null;
  // A failed scrape leaves the figure out (NaN), not the run.
  const text = await fetch(server.metricsUrl)
    .then((response) => response.text())
    .catch(() => '');
  return Number(/^switchboard_db_batch_size_count (\d+)$/m.exec(text)?.[1] ?? NaN);
}

/** Runs one offered load on an open fleet and adds the server's CPU per delivery. */
async function measureLoad(fleet, server, rate, durationMs) {
  const window = {};
  const result = await fleet.measure({ rate, durationMs, onWindow: (edge) => (window[edge] = cpuMs(server)) });
  const serverCpuMs = window.close - window.open;
  return { ...result, cpuUsPerDelivery: (serverCpuMs * 1000) / result.measuredDeliveries, serverBusy: serverCpuMs / result.measuredMs };
}

const keepsPace = (r) => r.lost === 0 && r.refused === 0 && r.latencyMs.p50 <= 50;

/**
 * One fixed load on every server, in turns: `WINDOWS` windows each, in
 * forward order, then backward, and so on (every server's windows then
 * lie at the same mean time), so that the machine's drift (plain ws's own
 * CPU per delivery moved by half between runs minutes apart) falls on all
 * of them alike. A server's figures are its windows' together: CPU and
 * deliveries summed, latencies pooled. Each window follows the others'
 * with the server idle, so each gets 2 s at its load first, and there are
 * two of 5 s rather than many short ones (bench/README.md).
 */
async function fixedLoadInTurns(entries, deliveries) {
  const pooled = new Map(entries.map(({ key }) => [key, { windows: [], latencies: new LatencySamples(), cpuMs: 0, eventLoopMs: 0, commits: isSwitchboard(key) ? 0 : NaN }]));
  for (let round = 0; round < WINDOWS; round++) {
    for (const { key, server, fleet } of round % 2 === 0 ? entries : [...entries].reverse()) {
      const window = {};
      const result = await fleet.measure({
        rate: deliveries / (fleet.sockets / 10),
        durationMs: (SECONDS * 1000) / WINDOWS,
        // Back from idle while the others were measured: the JIT is warm, the caches are not.
        warmupMs: Number(args['window-warmup']) * 1000,
        // The last deliveries of the window arrive (or count as lost) before the next server's window.
        settleMs: 1000,
        keepLatencies: true,
        // The scrape at the window's opening is counted in the window's CPU: about 1.5 ms of it.
        onWindow: (edge) => (window[edge] = { total: cpuMs(server), eventLoop: mainThreadCpuMs(server.pid), commits: commitsSoFar(server) }),
      });
      const { latencies, ...figures } = result;
      const pool = pooled.get(key);
      pool.windows.push(figures);
      pool.latencies.add(latencies);
      pool.cpuMs += window.close.total - window.open.total;
      pool.eventLoopMs += window.close.eventLoop - window.open.eventLoop;
      pool.commits += (await window.close.commits) - (await window.open.commits);
    }
  }
  return Object.fromEntries(
    [...pooled].map(([key, { windows, latencies, cpuMs: serverCpuMs, eventLoopMs, commits }]) => {
      const sum = (pick) => windows.reduce((total, w) => total + pick(w), 0);
      const measuredDeliveries = sum((w) => w.measuredDeliveries);
      const measuredMs = sum((w) => w.measuredMs);
      return [
        key,
        {
          windows: windows.length,
          sent: sum((w) => w.sent),
          refused: sum((w) => w.refused),
          expectedDeliveries: sum((w) => w.expectedDeliveries),
          measuredDeliveries,
          lost: sum((w) => w.lost),
          deliveriesPerSecond: (measuredDeliveries / measuredMs) * 1000,
          latencyMs: percentiles(latencies.sorted()),
          measuredMs,
          cpuUsPerDelivery: (serverCpuMs * 1000) / measuredDeliveries,
          /** What the threads besides the event loop took: V8's collector and compiler, Switchboard's SQLite writer. */
          otherThreadsUsPerDelivery: ((serverCpuMs - eventLoopMs) * 1000) / measuredDeliveries,
          /** Switchboard's database transactions (on SQLite with synchronous=FULL, each one sync to disk); NaN for the others. */
          commitsPerSecond: (commits / measuredMs) * 1000,
          serverBusy: serverCpuMs / measuredMs,
          generatorBusy: Math.max(...windows.map((w) => w.generatorBusy)),
        },
      ];
    }),
  );
}

/**
 * The order of the turns: no Switchboard server (each commits to its own
 * SQLite file on the same disk) right before or after another, baselines
 * between them. A server measured right after another SQLite server's two
 * windows back to back took a p99 tail at 50,000/s that the same build in
 * another slot never had, whichever server sat there (bench/README.md): the
 * disk still busy with the other's writes. Forward then backward, the ends
 * only follow themselves.
 */
function turnOrder(keys) {
  const subjects = keys.filter(isSwitchboard);
  const baselines = keys.filter((key) => !isSwitchboard(key));
  if (subjects.length === 0) return keys;
  if (baselines.length < subjects.length - 1) {
    log(`  (${subjects.length} Switchboard servers and ${baselines.length} baselines: some Switchboard windows follow each other)`);
    return [...subjects, ...baselines];
  }
  // The baselines in subjects - 1 groups, as even as possible, one group between each two subjects.
  const gaps = Math.max(subjects.length - 1, 1);
  return subjects.flatMap((subject, index) => {
    if (subjects.length > 1 && index === subjects.length - 1) return [subject];
    const from = Math.round((index * baselines.length) / gaps);
    const to = Math.round(((index + 1) * baselines.length) / gaps);
    return [subject, ...baselines.slice(from, to)];
  });
}

/**
 * Fan-out: every server started at once on the server core, each with its
 * fleet; the fixed loads taken in turns (fixedLoadInTurns), then each
 * server ramped until it no longer keeps pace (or the generator runs out)
 * while the others idle.
 */
async function fanOut(keys, { ramped = keys } = {}) {
  const entries = [];
  const result = Object.fromEntries(keys.map((key) => [key, { fixed: {}, ramp: null }]));
  try {
    // Started and warmed up last to first: the first window in turns then follows the first server's own warm-up.
    for (const key of turnOrder(keys).reverse()) {
      const server = await startServer(key);
      entries.unshift({ key, server });
      const fleet = await openFleet({ urls: [server.url], protocol: server.protocol, token, sockets: Number(args.sockets), rooms: 10, publishers: 10 });
      entries[0].fleet = fleet;
      // A warm-up at the first measured load: the JIT and the database settle. (After 2 s at half that load, V8 was
      // still optimising a function a second for Switchboard in the first window, on compiler threads the figures count.)
      await fleet.measure({ rate: LOADS[0] / (fleet.sockets / 10), durationMs: 5000, warmupMs: 500, settleMs: 500 });
    }
    if (scenarios.has('fanout')) {
      for (const deliveries of LOADS) {
        log(`  ${deliveries} deliveries/s, ${WINDOWS} windows per server in turns`);
        const byServer = await fixedLoadInTurns(entries, deliveries);
        for (const key of keys) result[key].fixed[deliveries] = byServer[key];
      }
    }
    if (scenarios.has('ramp')) {
      for (const { key, server, fleet } of entries.filter(({ key }) => ramped.includes(key))) {
        log(`  ramp on ${SERVERS[key].label}`);
        const perMessage = fleet.sockets / 10;
        let best = null;
        // Steps of 10% up to 100,000/s, where the baselines' limits lie within 20% of each other, then of 20%.
        for (let deliveries = 50_000; ; deliveries = Math.round(deliveries * (deliveries < 100_000 ? 1.1 : 1.2))) {
          const step = await measureLoad(fleet, server, deliveries / perMessage, Number(args['ramp-seconds']) * 1000);
          // The generator out of CPU: this step, and any above it, measure the generator, not the server.
          const generatorLimited = step.generatorBusy > 0.9;
          if (!keepsPace(step)) {
            if (best && generatorLimited) best.generatorLimited = true;
            break;
          }
          best = { ...step, generatorLimited };
          if (generatorLimited) break;
        }
        result[key].ramp = best;
      }
    }
  } finally {
    for (const { server, fleet } of entries) {
      fleet?.close();
      await server.stop();
    }
  }
  return result;
}

/** Writes back what a server left unsynced now, between measurements, rather than 30 s later in another's. */
function settleDisk() {
  execFileSync('sync');
}

/** Acked sends per second with many senders in small rooms, on SQLite (synchronous FULL and NORMAL) and on PostgreSQL. */
async function durable(database, postgresUrl) {
  const variants = { 'sqlite-normal': 'switchboard-normal', 'sqlite-compare': 'switchboard-compare' };
  const server = variants[database] ? await startServer(variants[database]) : await startServer('switchboard', { database, postgresUrl });
  try {
    const window = {};
    const result = await runDurable({
      urls: [server.url],
      token,
      senders: 50,
      window: 20,
      roomSize: 2,
      durationMs: SECONDS * 1000,
      onWindow: (edge) => (window[edge] = cpuMs(server)),
    });
    return { ...result, cpuUsPerAck: ((window.close - window.open) * 1000) / ((result.ackedPerSecond * result.measuredMs) / 1000) };
  } finally {
    await server.stop();
  }
}

/**
 * Source addresses for the load processes, a fresh one each time: the
 * previous storm's connections linger in TIME_WAIT for a minute and hold
 * their address's ports, which made the next storm from the same address
 * two to five times slower, whichever server it measured. The second
 * octet is drawn per invocation, so that a run started within a minute of
 * another does not reuse its addresses either.
 */
const sourceNetwork = `127.${1 + Math.floor(Math.random() * 254)}.0`;
let nextSourceAddress = 2;
const freshSourceAddress = () => `${sourceNetwork}.${(nextSourceAddress++ % 250) + 2}`;

/** Forks load processes, each on its own loopback source address (127.n.0.x), holding at most `perProcess` sockets. */
async function holdSockets(server, total, perProcess = 9_000) {
  const workers = [];
  for (let offset = 0; offset < total; offset += perProcess) {
    const worker = fork(join(root, 'bench/lib/socket-worker.mjs'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    workers.push({ worker, offset, count: Math.min(perProcess, total - offset), localAddress: freshSourceAddress() });
  }
  const ask = (w, command, answer) =>
    new Promise((resolve) => {
      w.worker.on('message', function listener(message) {
        if (message.type !== answer) return;
        w.worker.off('message', listener);
        resolve(message);
      });
      w.worker.send(command);
    });
  const started = performance.now();
  const cpuBefore = cpuMs(server);
  const opened = await Promise.all(
    workers.map((w) => ask(w, { type: 'open', url: server.url, protocol: server.protocol, secret: SECRET, count: w.count, offset: w.offset, localAddress: w.localAddress }, 'opened')),
  );
  const connectMs = performance.now() - started;
  const connectCpuMs = cpuMs(server) - cpuBefore;
  await Promise.all(workers.map((w) => ask(w, { type: 'join', rooms: 100 }, 'joined')));
  return {
    connectMs,
    connectCpuMs,
    opened: opened.reduce((sum, o) => sum + o.opened, 0),
    failures: opened.reduce((sum, o) => sum + o.failures, 0),
    firstError: opened.find((o) => o.firstError)?.firstError,
    close: () => Promise.all(workers.map((w) => new Promise((resolve) => (w.worker.once('exit', resolve), w.worker.send({ type: 'close' }))))),
  };
}

/** Connect storm (sockets authenticated per second) and idle memory per joined socket, at `count` sockets. */
async function idleSockets(key, count) {
  const server = await startServer(key);
  try {
    // A few sockets first, so the baseline RSS includes what any first connection loads.
    const warm = await holdSockets(server, 100);
    await warm.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = processStats(server.pid).rssBytes;
    const held = await holdSockets(server, count);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = processStats(server.pid).rssBytes;
    // Read again once the collector's idle-time work has had its chance: the 2 s reading still holds some of the storm's garbage, more or less of it from run to run.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const settled = processStats(server.pid).rssBytes;
    await held.close();
    return {
      count,
      opened: held.opened,
      failures: held.failures,
      firstError: held.firstError,
      connectMs: held.connectMs,
      connectCpuUsPerSocket: (held.connectCpuMs * 1000) / held.opened,
      bytesPerSocket: (after - before) / held.opened,
      settledBytesPerSocket: (settled - before) / held.opened,
      rss: after,
    };
  } finally {
    await server.stop();
  }
}

/** The floor under a synced commit: a 4 KB append and fdatasync, 200 times a second, in the folder the SQLite files go to. */
async function syncLatency(folder, seconds = 5) {
  const file = join(mkdtempSync(join(folder, 'switchboard-disk-')), 'sync.bin');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  const latencies = [];
  let cpuUs = 0;
  try {
    for (const end = Date.now() + seconds * 1000; Date.now() < end; ) {
      const started = performance.now();
      const cpuBefore = threadCpuUs();
      writeSync(fd, block);
      fdatasyncSync(fd);
      cpuUs += threadCpuUs() - cpuBefore;
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    closeSync(fd);
    rmSync(dirname(file), { recursive: true, force: true });
  }
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { syncs: latencies.length, p50: at(0.5), p99: at(0.99), max: latencies.at(-1), cpuUsPerSync: cpuUs / latencies.length };
}

const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// ---- the runs ----
const runs = [];
let postgres;
const log = (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
try {
  // The database is not the server under test: allowed on every core, as the scheduler sees fit (inheriting the
  // load generator's core left it competing with the load it was measured under).
  if (scenarios.has('durable')) postgres = await startPostgres({ cores: `0-${cpus().length - 1}` });
  for (let run = 0; run < RUNS; run++) {
    const outcome = { fanOut: {}, durable: {}, idle: {}, maxIdle: {} };
    if (scenarios.has('fanout') || scenarios.has('ramp')) {
      const together = serverKeys.filter((key) => !SERVERS[key].ownPass);
      log(`run ${run + 1}/${RUNS}: fan-out on ${together.map((key) => SERVERS[key].label).join(', ')}`);
      outcome.fanOut = await fanOut(together);
      for (const key of serverKeys.filter((key) => SERVERS[key].ownPass)) {
        log(`run ${run + 1}/${RUNS}: fan-out on ${SERVERS[key].label}, in a pass of its own with plain ws`);
        const pass = await fanOut([key, ...(BASELINES.includes('plain') ? ['plain'] : [])], { ramped: [key] });
        outcome.fanOut[key] = { ...pass[key], plainInItsPass: pass.plain };
        settleDisk();
      }
    }
    for (const key of serverKeys) {
      // Memory and connecting do not depend on how commits are synced: the variant is left out.
      if (scenarios.has('sockets') && !SERVERS[key].env) {
        log(`run ${run + 1}/${RUNS}: ${args.idle} idle sockets on ${SERVERS[key].label}`);
        outcome.idle[key] = await idleSockets(key, Number(args.idle));
      }
    }
    if (scenarios.has('durable') || scenarios.has('fanout')) {
      log(`run ${run + 1}/${RUNS}: the disk's sync latency`);
      outcome.disk = await syncLatency(tmpdir());
    }
    if (scenarios.has('durable')) {
      for (const database of DURABLE_DATABASES) {
        log(`run ${run + 1}/${RUNS}: durable publish on ${database}`);
        outcome.durable[database] = await durable(database, postgres?.url);
        if (database === 'sqlite-normal') settleDisk();
      }
    }
    runs.push(outcome);
  }
  // The most sockets one process may hold: once, for Switchboard and the plain ws floor.
  if (scenarios.has('sockets') && Number(args['max-idle']) > 0) {
    for (const key of serverKeys.filter((k) => k === 'switchboard' || k === 'plain')) {
      log(`${args['max-idle']} idle sockets on ${SERVERS[key].label}`);
      runs[0].maxIdle[key] = await idleSockets(key, Number(args['max-idle']));
    }
  }
} finally {
  postgres?.stop();
}

// ---- the report ----
/** A server measured in a pass of its own is compared with plain ws of that pass. */
const baseValue = (figure, subject, base, values) =>
  SERVERS[subject].ownPass && base === 'plain' ? pick(subject, (run) => figure.get({ ...run, fanOut: { plain: run.fanOut[subject]?.plainInItsPass } }, 'plain')) : values[base];
const f = (n, digits = 1) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const ratio = (value, base) => (Number.isFinite(value) && Number.isFinite(base) && base !== 0 ? `${(value / base).toFixed(2)}x` : 'n/a');
const pick = (key, get) => median(runs.map((run) => get(run, key)));
const lines = [];
const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
lines.push(`# Benchmark ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`, '');
lines.push(`Machine: ${machine} (${hostname()}).`, '');
lines.push(`Command: \`npm run bench -- ${process.argv.slice(2).join(' ')}\` (${RUNS} run${RUNS > 1 ? 's' : ''}; medians shown; servers on core ${args['server-core']}, load generator on the other, PostgreSQL on any).`, '');
lines.push(`Switchboard runs with its defaults (SQLite history, each commit synced to disk before the ack, on a writer thread; RBAC from the database), rate limits raised for the publishers. "Switchboard, synchronous=NORMAL" is the same with \`DATABASE_SQLITE_SYNCHRONOUS=normal\` (commits reach the operating system, not the disk: an ack survives a crash of the server, not of the machine).`, '');

function describeTurns(order) {
  const adjacent = order.some((key, index) => index > 0 && isSwitchboard(key) && isSwitchboard(order[index - 1]));
  return `${order.map((key) => SERVERS[key].label).join(', ')}, then backward${adjacent ? '' : ': no Switchboard server right after another'}`;
}

function ownPassNote() {
  const own = serverKeys.filter((key) => SERVERS[key].ownPass);
  if (own.length === 0) return '';
  const labels = own.map((key) => SERVERS[key].label).join(', ');
  return ` ${labels}: the same, in a pass of its own in turns with plain ws, its ratios to that pass's plain ws (its unsynced commits are written back by the kernel 30 s later, in another server's windows); the disk synced after it.`;
}

/** What the syncs alone cost per delivery: the commits a second, each taking the CPU of one sync in the disk scenario. */
const syncsUsPerDelivery = (run, load) => (run.disk && load ? (load.commitsPerSecond * run.disk.cpuUsPerSync) / load.deliveriesPerSecond : NaN);

const figures = [];
if (scenarios.has('fanout')) {
  for (const deliveries of LOADS) {
    const d = `${deliveries / 1000}k`;
    figures.push({ name: `server CPU per delivery at ${d} deliveries/s (us)`, get: (run, key) => run.fanOut[key]?.fixed[deliveries]?.cpuUsPerDelivery });
    figures.push({
      name: `of which threads besides the event loop (us)`,
      noRatio: true,
      digits: 2,
      get: (run, key) => run.fanOut[key]?.fixed[deliveries]?.otherThreadsUsPerDelivery,
    });
    if (SUBJECTS.length > 0) {
      figures.push({
        name: `of which the syncs to disk, estimated (us)`,
        noRatio: true,
        digits: 2,
        get: (run, key) => (SERVERS[key].env?.DATABASE_SQLITE_SYNCHRONOUS ? NaN : syncsUsPerDelivery(run, run.fanOut[key]?.fixed[deliveries])),
      });
      figures.push({ name: `database commits per second at ${d} deliveries/s`, noRatio: true, digits: 0, get: (run, key) => run.fanOut[key]?.fixed[deliveries]?.commitsPerSecond });
    }
    figures.push({ name: `p50 latency at ${d} deliveries/s (ms)`, digits: 2, get: (run, key) => run.fanOut[key]?.fixed[deliveries]?.latencyMs.p50 });
    figures.push({ name: `p99 latency at ${d} deliveries/s (ms)`, digits: 2, get: (run, key) => run.fanOut[key]?.fixed[deliveries]?.latencyMs.p99 });
    figures.push({ name: `lost of ${d}/s for ${SECONDS} s`, digits: 0, get: (run, key) => run.fanOut[key]?.fixed[deliveries]?.lost });
  }
}
if (scenarios.has('ramp')) {
  figures.push({
    name: 'most deliveries/s keeping pace (p50 <= 50 ms, no loss)',
    digits: 0,
    get: (run, key) => run.fanOut[key]?.ramp?.deliveriesPerSecond,
    mark: (key) => (runs.some((run) => run.fanOut[key]?.ramp?.generatorLimited) ? '>= ' : ''),
  });
  figures.push({ name: 'server CPU busy at that load (%)', digits: 0, get: (run, key) => run.fanOut[key]?.ramp?.serverBusy * 100 });
}
if (scenarios.has('sockets')) {
  figures.push({ name: `connect storm: ${args.idle} sockets opened (s)`, digits: 2, get: (run, key) => run.idle[key]?.connectMs / 1000 });
  figures.push({ name: `sockets authenticated per second`, digits: 0, get: (run, key) => run.idle[key]?.opened / (run.idle[key]?.connectMs / 1000) });
  figures.push({ name: `server CPU per socket opened in the storm (us)`, get: (run, key) => run.idle[key]?.connectCpuUsPerSocket });
  figures.push({ name: `idle memory per joined socket, 2 s after the storm (KB)`, get: (run, key) => run.idle[key]?.bytesPerSocket / 1024 });
  figures.push({ name: `idle memory per joined socket, 12 s after the storm (KB)`, get: (run, key) => run.idle[key]?.settledBytesPerSocket / 1024 });
}
if (figures.length > 0) {
  lines.push('## Fan-out and sockets', '');
  lines.push(
    `Fan-out: ${args.sockets} sockets in 10 rooms of ${Number(args.sockets) / 10}, 10 publishers, 64-byte bodies; all servers up at once, each load measured for ${SECONDS} s per server in ${WINDOWS} windows of ${f(SECONDS / WINDOWS)} s (each after ${f(Number(args['window-warmup']))} s at that load), taken in turns with the other servers (${describeTurns(turnOrder(serverKeys.filter((key) => !SERVERS[key].ownPass)))}); latencies pooled over the windows.${ownPassNote()}`,
    '',
  );
  const header = ['figure', ...serverKeys.map((key) => SERVERS[key].label)];
  // Switchboard against every baseline; its variants against the floor only.
  const ratios = SUBJECTS.flatMap((subject) => BASELINES.filter((base) => subject === 'switchboard' || base === 'plain').map((base) => [subject, base]));
  if (args.compare) ratios.push(['switchboard', 'switchboard-compare']);
  header.push(...ratios.map(([subject, base]) => `${SERVERS[subject].label} / ${SERVERS[base].label}`));
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  for (const figure of figures) {
    const values = Object.fromEntries(serverKeys.map((key) => [key, pick(key, figure.get)]));
    const cells = serverKeys.map((key) => `${figure.mark?.(key) ?? ''}${f(values[key], figure.digits ?? 1)}`);
    cells.push(...ratios.map(([subject, base]) => (figure.noRatio ? 'n/a' : ratio(values[subject], baseValue(figure, subject, base, values)))));
    lines.push(`| ${figure.name} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  if (scenarios.has('ramp')) {
    lines.push(
      'A maximum marked ">=" stopped because the load generator, not the server, ran out of CPU (over 90% busy at that step or the next) in at least one run. A server near 100% busy at its maximum was the limit itself.',
      '',
    );
  }
}
if (scenarios.has('durable')) {
  lines.push('## Durable publish rate (Switchboard)', '');
  lines.push('50 senders, each keeping 20 sends in flight, into 50 rooms of 2 receivers; an ack means the message is committed.', '');
  lines.push('| database | acked sends/s | ack p50 / p99 ms | server CPU per ack | load generator busy | delivered / expected |', '|---|---|---|---|---|---|');
  for (const database of DURABLE_DATABASES) {
    const get = (fn) => median(runs.map((run) => fn(run.durable[database])));
    lines.push(
      `| ${DATABASE_LABELS[database]} | ${f(get((d) => d.ackedPerSecond), 0)} | ${f(get((d) => d.ackLatencyMs.p50), 2)} / ${f(get((d) => d.ackLatencyMs.p99), 2)} | ${f(get((d) => d.cpuUsPerAck))} us | ${f(get((d) => d.generatorBusy * 100), 0)}% | ${f(get((d) => d.delivered), 0)} / ${f(get((d) => d.expectedDeliveries), 0)} |`,
    );
  }
  lines.push('');
}
if (runs[0]?.disk) {
  const get = (fn) => median(runs.map((run) => fn(run.disk)));
  lines.push("## The disk's sync latency", '');
  lines.push(
    'A synced commit waits for the disk at least this long: a 4 KB append and `fdatasync` 200 times a second for 5 s, in the folder the SQLite files go to, with no other load.',
    'With `synchronous=FULL` (the default) every message is delivered after such a sync, so the disk sets a floor under the latency figures above.',
    "The CPU of one append and sync is the thread's own (the scheduler's count): on a virtual machine it includes the exits to the hypervisor that the disk's notifications cost. Times the commits a second, it is the syncs' estimated share of the server's CPU per delivery above.",
    '',
  );
  lines.push('| syncs | p50 ms | p99 ms | max ms | CPU per append and sync |', '|---|---|---|---|---|');
  lines.push(
    `| ${f(get((d) => d.syncs), 0)} | ${f(get((d) => d.p50), 2)} | ${f(get((d) => d.p99), 2)} | ${f(get((d) => d.max), 1)} | ${f(get((d) => d.cpuUsPerSync))} us |`,
    '',
  );
}
if (runs[0] && Object.keys(runs[0].maxIdle).length > 0) {
  lines.push('## The most sockets one process holds', '');
  lines.push('| server | sockets asked | opened | failed | first failure | memory per joined socket, 2 s / 12 s after | RSS |', '|---|---|---|---|---|---|---|');
  for (const [key, m] of Object.entries(runs[0].maxIdle)) {
    lines.push(
      `| ${SERVERS[key].label} | ${m.count} | ${m.opened} | ${m.failures} | ${m.firstError ?? ''} | ${f(m.bytesPerSocket / 1024)} / ${f(m.settledBytesPerSocket / 1024)} KB | ${f(m.rss / 2 ** 20, 0)} MiB |`,
    );
  }
  lines.push('');
}
lines.push('<details><summary>Raw figures of every run (JSON)</summary>', '', '```json', JSON.stringify(runs, (k, v) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v), 1), '```', '</details>', '');

const report = lines.join('\n');
mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = args.out ?? join(root, 'bench/results', `${new Date().toISOString().slice(0, 16).replace(/[T:]/g, '-')}.md`);
writeFileSync(file, report);
// A run written elsewhere (--out) is an experiment: the published latest table stays.
if (!args.out) writeFileSync(join(root, 'bench/results/latest.md'), report);
console.log(report.slice(0, report.indexOf('<details>')));
log(`written to ${file}`);
