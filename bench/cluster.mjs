/**
 * What one node holds, and what three nodes on the same machine hold, for
 * docs/deployment.md. Run after `npm run build`:
 *
 *   node bench/cluster.mjs [--sockets 1000] [--rate 200] [--seconds 10]
 *
 * Starts a throwaway PostgreSQL and Redis, then Switchboard with 1 node and
 * with 3 nodes; the same load (sockets spread over the nodes, 10 rooms,
 * 10 publishers) runs against both. Prints a markdown table.
 */
import { parseArgs } from 'node:util';
import { processStats } from './lib/proc.mjs';
import { runLoad, openIdle } from './lib/load.mjs';
import { freePort, startPostgres, startProcess, startRedis } from './lib/servers.mjs';
import { hs256Token } from './lib/tokens.mjs';

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    idle: { type: 'string', default: '5000' },
  },
});
const SECRET = 'bench-secret-that-is-long-enough-0123456789';
const token = (sub) => hs256Token(SECRET, { sub });

async function startNodes(count, postgres, redis) {
  const nodes = [];
  for (let n = 0; n < count; n++) {
    const port = await freePort();
    const node = await startProcess({
      command: process.execPath,
      args: ['dist/src/main.js'],
      port,
      env: {
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        JWT_SECRET: SECRET,
        DATABASE_URL: postgres.url,
        ...(count > 1 ? { REDIS_URL: redis.url } : {}),
        WS_RATE_LIMIT_PER_SECOND: '100000',
        WS_RATE_LIMIT_BURST: '100000',
        WS_MAX_SOCKETS_PER_USER: '100000',
        OPENAPI_DOCS: 'false',
      },
    });
    nodes.push({ ...node, url: `ws://127.0.0.1:${port}/ws` });
  }
  return nodes;
}

const cpu = (nodes) => nodes.reduce((sum, node) => sum + processStats(node.pid).cpuMs, 0);

const postgres = await startPostgres();
const redis = await startRedis();
const rows = [];
try {
  for (const count of [1, 3]) {
    const nodes = await startNodes(count, postgres, redis);
    const window = {};
    const result = await runLoad({
      onWindow: (edge) => (window[edge] = cpu(nodes)),
      urls: nodes.map((node) => node.url),
      token,
      sockets: Number(values.sockets),
      rooms: 10,
      publishers: 10,
      rate: Number(values.rate),
      durationMs: Number(values.seconds) * 1000,
    });
    const cpuMs = window.close - window.open;
    const idle = await openIdle({ urls: nodes.map((node) => node.url), token, count: Number(values.idle), rooms: 100 });
    const rss = nodes.reduce((sum, node) => sum + processStats(node.pid).rssBytes, 0);
    idle.close();
    rows.push({ nodes: count, ...result, cpuMsPerSecond: cpuMs / (result.measuredMs / 1000), cpuUsPerDelivery: (cpuMs * 1000) / result.measuredDeliveries, idleSockets: idle.sockets.length, idleConnectMs: idle.elapsedMs, rss });
    await Promise.all(nodes.map((node) => node.stop()));
  }
} finally {
  redis.stop();
  postgres.stop();
}

const f = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
console.log(`| nodes | sockets | offered msgs/s | deliveries/s | lost | p50 / p90 / p99 / max ms | server CPU ms/s (all nodes) | CPU per delivery | ${values.idle} idle sockets: connect time, RSS (all nodes) |`);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.nodes} | ${r.sockets} | ${r.offeredRate} | ${f(r.deliveriesPerSecond, 0)} | ${r.lost} | ${f(r.latencyMs.p50)} / ${f(r.latencyMs.p90)} / ${f(r.latencyMs.p99)} / ${f(r.latencyMs.max)} | ${f(r.cpuMsPerSecond, 0)} | ${f(r.cpuUsPerDelivery)} us | ${f(r.idleConnectMs / 1000, 1)} s, ${f(r.rss / 1048576, 0)} MiB |`,
  );
}
