import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase, type TestDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { freePort } from '../support/postgres-server.js';
import { freezeRedis, pauseRedis, resumeRedis, startRedis, stopRedis, type RedisServer } from '../support/redis-server.js';
import { clusterMissing, describeNeeding } from '../support/requirements.js';
import { ResumingClient } from '../support/resuming-client.js';
import { ServerProcess, testServerEnv } from '../support/server-process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { TestClient } from '../support/test-client.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

const NODE_TTL_MS = 1500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The presence pushes of a room a client received, in order, as `event userId`. */
const presenceHeard = (client: TestClient, room: string) =>
  client.frames.filter((f) => f.id === undefined && f.event.startsWith('presence.') && f.data.room === room).map((f) => `${f.event} ${f.data.user.id}`);
/** The pushes of presenceHeard that tell nothing new: a join of a user whose last push was a join, a leave after a leave. */
const repeated = (heard: string[]) => {
  const last = new Map<string, string>();
  return heard.filter((push) => {
    const [event, id] = push.split(' ');
    const repeat = last.get(id) === event;
    last.set(id, event);
    return repeat;
  });
};

interface Node {
  port: number;
  wsUrl: string;
  httpUrl: string;
  server: ServerProcess;
}

describeNeeding('a cluster of three nodes on PostgreSQL and Redis', clusterMissing(), () => {
  let redis: RedisServer;
  let database: TestDatabase;
  const workdir = mkdtempSync(join(tmpdir(), 'switchboard-cluster-'));
  const nodes: Node[] = [];
  const clients: TestClient[] = [];
  const root = token('root');

  async function startNode(port: number, redisUrl = redis.url): Promise<ServerProcess> {
    const server = ServerProcess.start(
      workdir,
      testServerEnv(port, {
        BOOTSTRAP_ADMINS: 'root',
        REDIS_URL: redisUrl,
        CLUSTER_NODE_TTL_MS: String(NODE_TTL_MS),
        SHUTDOWN_TIMEOUT_MS: '3000',
        ...database.variables,
      }),
    );
    await server.listening();
    return server;
  }

  const ready = async (node: Node) => (await fetch(`${node.httpUrl}/health/ready`)).status === 200;

  /** A fourth node that reaches Redis through a proxy, so that it alone can lose Redis; in touch once started. */
  async function startNodeBehindProxy(): Promise<{ node: Node; proxy: TcpProxy; stop: () => Promise<void> }> {
    const proxy = await startTcpProxy(redis.port);
    const port = await freePort();
    const node: Node = { port, wsUrl: `ws://127.0.0.1:${port}/ws`, httpUrl: `http://127.0.0.1:${port}`, server: await startNode(port, `redis://127.0.0.1:${proxy.port}`) };
    const stop = async () => {
      await node.server.stop();
      await proxy.close();
    };
    await waitUntil(() => ready(node), 10_000).catch(async (error: unknown) => {
      await stop();
      throw error;
    });
    return { node, proxy, stop };
  }
  const connect = async (node: Node, sub: string) => {
    const client = await TestClient.connect(node.wsUrl, { token: token(sub) });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    redis = await startRedis();
    database = await freshDatabase('postgres');
    // All three start at once on an empty database: the migrations must run exactly once.
    const ports = [await freePort(), await freePort(), await freePort()];
    const servers = await Promise.all(ports.map((port) => startNode(port)));
    ports.forEach((port, n) => nodes.push({ port, wsUrl: `ws://127.0.0.1:${port}/ws`, httpUrl: `http://127.0.0.1:${port}`, server: servers[n] }));
    for (const node of nodes) {
      for (let tries = 0; !(await ready(node)) && tries < 50; tries++) await sleep(100);
    }
  }, 60_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.server.stop()));
    if (redis) stopRedis(redis);
  });

  it('delivers every message to members on every node, in seq order, while senders on every node send at once', async () => {
    const watchers = await Promise.all(nodes.map((node, n) => connect(node, `watcher-${n}`)));
    for (const watcher of watchers) await watcher.ok('room.join', { room: 'cross' });
    const senders = await Promise.all(nodes.map((node, n) => connect(node, `sender-${n}`)));
    await Promise.all(
      senders.flatMap((sender, n) =>
        Array.from({ length: 30 }, (_, k) => sender.ok('message.send', { room: 'cross', text: `${n}/${k}`, clientMsgId: `m${k}` })),
      ),
    );
    await waitUntil(() => watchers.every((watcher) => watcher.pushes('message', 'cross').length >= 90), 10_000);
    await watchers[0].settle(200);
    for (const watcher of watchers) {
      expect(watcher.pushes('message', 'cross').map((f) => f.data.seq)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
    }
  });

  it('stores a message sent with the same clientMsgId on every node at once once, and acks every send with its seq', async () => {
    const senders = await Promise.all(nodes.map((node) => connect(node, 'twin-sender')));
    for (let round = 0; round < 5; round++) {
      // Each round's three sends race to commit on three nodes; all but one are resends.
      const acks = await Promise.all(senders.map((sender, n) => sender.ok('message.send', { room: 'twins', text: `round ${round} from node ${n}`, clientMsgId: `twin-${round}` })));
      expect(new Set(acks.map((ack) => ack.seq)).size).toBe(1);
      expect(acks.filter((ack) => !ack.duplicate)).toHaveLength(1);
    }
    const { messages } = await senders[0].ok('history.fetch', { room: 'twins', limit: 50 });
    expect(messages.map((message: { seq: number }) => message.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('counts a user once across sockets and nodes in presence', async () => {
    const quinn = await connect(nodes[2], 'quinn');
    await quinn.ok('room.join', { room: 'p' });
    const pamOnOne = await connect(nodes[0], 'pam');
    const pamOnTwo = await connect(nodes[1], 'pam');
    await pamOnOne.ok('room.join', { room: 'p' });
    expect((await quinn.nextPush('presence.join', 'p')).data.user.id).toBe('pam');
    await pamOnTwo.ok('room.join', { room: 'p' });
    for (const client of [quinn, pamOnOne, pamOnTwo]) {
      const users = (await client.ok('presence.list', { room: 'p' })).users.map((u: { id: string }) => u.id).sort();
      expect(users).toEqual(['pam', 'quinn']);
    }
    await pamOnOne.close();
    await quinn.settle(300);
    expect(quinn.pushes('presence.join', 'p')).toHaveLength(1);
    expect(quinn.pushes('presence.leave', 'p')).toHaveLength(0);
    await pamOnTwo.close();
    expect((await quinn.nextPush('presence.leave', 'p')).data.user.id).toBe('pam');
    expect((await quinn.ok('presence.list', { room: 'p' })).users.map((u: { id: string }) => u.id)).toEqual(['quinn']);
  });

  it('applies a revoke made on node 1 to a sender on node 3 within a second, and other admin changes everywhere', async () => {
    await http(nodes[0].httpUrl, 'PUT', '/admin/users/rita/roles/member', { token: root });
    const rita = await connect(nodes[2], 'rita');
    expect((await rita.ok('message.send', { room: 'ops', text: 'allowed', clientMsgId: 'r1' })).seq).toBe(1);

    const revoked = Date.now();
    await http(nodes[0].httpUrl, 'PUT', '/admin/users/rita/roles/viewer', { token: root });
    await http(nodes[0].httpUrl, 'DELETE', '/admin/users/rita/roles/member', { token: root });
    let forbiddenAfter = Infinity;
    for (let n = 0; n < 100; n++) {
      const frame = await rita.request('message.send', { room: 'ops', text: 'try', clientMsgId: `r-${n}` });
      if (frame.event === 'error' && frame.data.code === 'FORBIDDEN') {
        forbiddenAfter = Date.now() - revoked;
        break;
      }
      await sleep(20);
    }
    expect(forbiddenAfter).toBeLessThan(1000);

    // Archive on node 2 removes members on node 3; a disconnect on node 1 closes a socket on node 3.
    const member = await connect(nodes[2], 'sue');
    await member.ok('room.join', { room: 'doomed' });
    await http(nodes[1].httpUrl, 'DELETE', '/admin/rooms/doomed', { token: root });
    expect((await member.nextPush('room.removed', 'doomed', 1000)).data.reason).toBe('archived');
    expect((await member.error('room.join', { room: 'doomed' })).code).toBe('NOT_FOUND');
    await http(nodes[0].httpUrl, 'POST', '/admin/users/sue/disconnect', { token: root });
    expect((await member.closed).code).toBe(4003);
  });

  it('catches up with what a node cut off from Redis stored, changed, archived and disconnected meanwhile, once that node is back', async () => {
    const { node: cutOff, proxy, stop } = await startNodeBehindProxy();
    try {
      await http(nodes[0].httpUrl, 'PUT', '/admin/users/cody/roles/member', { token: root });
      const alice = await connect(nodes[0], 'alice');
      await alice.ok('room.join', { room: 'quiet' });
      const cody = await connect(nodes[0], 'cody');
      expect((await cody.ok('message.send', { room: 'quiet', text: 'allowed', clientMsgId: 'c1' })).seq).toBe(1);
      const bob = await connect(cutOff, 'bob');
      expect((await bob.ok('message.send', { room: 'quiet', text: 'before', clientMsgId: 'b1' })).seq).toBe(2);
      expect((await alice.next((f) => f.event === 'message' && f.data.seq === 2)).data.text).toBe('before');
      await alice.ok('room.join', { room: 'closing-here' });
      await bob.ok('room.join', { room: 'closing-there' });
      const dora = await connect(nodes[0], 'dora');
      const erin = await connect(cutOff, 'erin');

      proxy.cut();
      await waitUntil(async () => !(await ready(cutOff)), 10_000);
      // Stored and applied on the cut-off node; its publishes to the others fail.
      expect((await bob.ok('message.send', { room: 'quiet', text: 'while cut off', clientMsgId: 'b2' })).seq).toBe(3);
      await http(cutOff.httpUrl, 'PUT', '/admin/users/cody/roles/viewer', { token: root });
      await http(cutOff.httpUrl, 'DELETE', '/admin/users/cody/roles/member', { token: root });
      // Each side archives a room the other side's member is in.
      expect((await http(cutOff.httpUrl, 'DELETE', '/admin/rooms/closing-here', { token: root })).status).toBe(200);
      expect((await http(nodes[0].httpUrl, 'DELETE', '/admin/rooms/closing-there', { token: root })).status).toBe(200);
      // And disconnects a user connected to the other side; she comes back on her side meanwhile.
      expect((await http(cutOff.httpUrl, 'POST', '/admin/users/dora/disconnect', { token: root })).status).toBe(200);
      expect((await http(nodes[0].httpUrl, 'POST', '/admin/users/erin/disconnect', { token: root })).status).toBe(200);
      const doraAgain = await connect(nodes[0], 'dora');
      // Node 1 has not heard of any of it (a send in the room itself would show it the gap).
      expect((await cody.ok('message.send', { room: 'elsewhere', text: 'stale role', clientMsgId: 'c2' })).seq).toBe(1);
      await alice.settle(300);
      expect(alice.pushes('message', 'quiet').map((f) => f.data.seq)).toEqual([1, 2]);
      expect(alice.pushes('room.removed', 'closing-here')).toEqual([]);
      expect(bob.pushes('room.removed', 'closing-there')).toEqual([]);
      expect([(await dora.request('ping')).event, (await erin.request('ping')).event]).toEqual(['pong', 'pong']);

      proxy.resume();
      // Nothing else is sent in the room: only the cut-off node's word brings the others up to date.
      expect((await alice.next((f) => f.event === 'message' && f.data.seq === 3, 10_000)).data.text).toBe('while cut off');
      expect((await cody.error('message.send', { room: 'elsewhere', text: 'revoked', clientMsgId: 'c3' })).code).toBe('FORBIDDEN');
      expect(alice.pushes('message', 'quiet').map((f) => f.data.seq)).toEqual([1, 2, 3]);
      expect((await alice.nextPush('room.removed', 'closing-here')).data).toEqual({ room: 'closing-here', reason: 'archived' });
      expect((await bob.nextPush('room.removed', 'closing-there')).data).toEqual({ room: 'closing-there', reason: 'archived' });
      expect([(await dora.closed).code, (await erin.closed).code]).toEqual([4003, 4003]);
      // Opened after the disconnect: not closed by it.
      expect((await doraAgain.request('ping')).event).toBe('pong');
    } finally {
      await stop();
    }
  });

  it('forgets a killed node within the bound, and its users resume on another node without loss', async () => {
    const tom = await connect(nodes[0], 'tom');
    await tom.ok('room.join', { room: 'k' });
    const sam = await connect(nodes[1], 'sam');
    await sam.ok('room.join', { room: 'k' });
    await tom.nextPush('presence.join', 'k');

    const urls = [nodes[1].wsUrl, nodes[0].wsUrl, nodes[2].wsUrl];
    const resumers = ['u1', 'u2', 'u3'].map((name) => new ResumingClient(urls, token(name), name, ['k']));
    try {
      await withTraffic(resumers, 'k', async (stopTraffic) => {
        await sleep(500);
        const killedAt = Date.now();
        nodes[1].server.child.kill('SIGKILL');
        await nodes[1].server.exited;

        const leave = await tom.next((f) => f.event === 'presence.leave' && f.data.user.id === 'sam', NODE_TTL_MS * 4);
        expect(leave.data.room).toBe('k');
        expect(Date.now() - killedAt).toBeLessThan(NODE_TTL_MS + 2000);
        expect((await tom.ok('presence.list', { room: 'k' })).users.map((u: { id: string }) => u.id)).not.toContain('sam');

        await sleep(800);
        await stopTraffic();
        await waitUntil(() => resumers.every((client) => client.unacked === 0), 15_000);
        const acked = Math.max(...resumers.flatMap((client) => client.acks.map((ack) => ack.seq)));
        await waitUntil(() => resumers.every((client) => client.highestSeen('k') >= acked), 15_000);
        for (const client of resumers) {
          expect(client.connections).toBeGreaterThanOrEqual(2);
          const seqs = [...new Set(client.deliveries.get('k')!.map((d) => d.seq))];
          expect(seqs).toEqual(Array.from({ length: acked }, (_, i) => i + 1));
        }
      });
    } finally {
      // The next test needs all three nodes.
      if (nodes[1].server.child.exitCode !== null || nodes[1].server.child.signalCode !== null) nodes[1].server = await startNode(nodes[1].port);
    }
  });

  it('reports not ready and answers presence UNAVAILABLE while Redis hangs, and recovers when it answers again', async () => {
    const watcher = await connect(nodes[1], 'frozen-watcher');
    await watcher.ok('room.join', { room: 'frozen' });
    freezeRedis(redis, true);
    try {
      // Connected but answering nothing: a command fails after its timeout (2 s) instead of waiting for TCP.
      expect(await watcher.error('presence.list', { room: 'frozen' })).toMatchObject({ code: 'UNAVAILABLE' });
      expect((await fetch(`${nodes[1].httpUrl}/health/ready`)).status).toBe(503);
    } finally {
      freezeRedis(redis, false);
    }
    for (let tries = 0; !(await ready(nodes[1])) && tries < 50; tries++) await sleep(100);
    expect(await ready(nodes[1])).toBe(true);
    expect((await watcher.ok('presence.list', { room: 'frozen' })).users).toEqual([{ id: 'frozen-watcher', name: 'frozen-watcher' }]);
  });

  it('announces, once Redis is back, who left while it was down, and repeats no join, to its own user or to anyone who had it', async () => {
    const watcher = await connect(nodes[0], 'pr-watcher');
    const stayer = await connect(nodes[1], 'pr-stayer');
    const leaver = await connect(nodes[2], 'pr-leaver');
    for (const client of [watcher, stayer, leaver]) await client.ok('room.join', { room: 'pr' });
    await watcher.settle(200);
    pauseRedis(redis);
    try {
      await leaver.ok('room.leave', { room: 'pr' });
      await sleep(300);
    } finally {
      resumeRedis(redis);
    }
    // Redis came back empty: the leave is announced by the node it was made on, at once, not never.
    expect((await watcher.nextPush('presence.leave', 'pr', 10_000)).data.user.id).toBe('pr-leaver');
    await waitUntil(async () => (await watcher.ok('presence.list', { room: 'pr' })).users.length === 2, 10_000);
    expect((await watcher.ok('presence.list', { room: 'pr' })).users.map((u: { id: string }) => u.id).sort()).toEqual(['pr-stayer', 'pr-watcher']);
    await stayer.settle(500);
    expect(stayer.pushes('presence.join', 'pr').filter((push) => push.data.user.id === 'pr-stayer')).toEqual([]);
    // The nodes announce their users again to a Redis that forgot them: news to none of the members, who hear nothing
    // twice (a node slower to come back than the catch-up's wait may have a user leave, then join again), and last
    // of each user what is true.
    const heard = presenceHeard(watcher, 'pr');
    expect(repeated(heard)).toEqual([]);
    const lastOf = (id: string) => heard.filter((push) => push.endsWith(` ${id}`)).at(-1);
    expect([lastOf('pr-stayer'), lastOf('pr-leaver')]).toEqual(['presence.join pr-stayer', 'presence.leave pr-leaver']);
  });

  it('repeats no join after a Redis restart to the members of a node that was reconnecting when the room got its first member there', async () => {
    const { node: cutOff, proxy, stop } = await startNodeBehindProxy();
    try {
      proxy.cut();
      await waitUntil(async () => !(await ready(cutOff)), 10_000);
      // The room's presence cannot be listed there yet: its members hear the pushes unscreened until a list answers.
      const watcher = await connect(cutOff, 'pf-watcher');
      await watcher.ok('room.join', { room: 'pf' });
      proxy.resume();
      await waitUntil(() => ready(cutOff), 10_000);
      const stayer = await connect(nodes[1], 'pf-stayer');
      await stayer.ok('room.join', { room: 'pf' });
      await waitUntil(() => presenceHeard(watcher, 'pf').length === 1, 5000);
      // Restarted before the node's catch-up lists the room: the stayer's node announces them again.
      pauseRedis(redis);
      try {
        await sleep(300);
      } finally {
        resumeRedis(redis);
      }
      await waitUntil(async () => {
        const reply = await watcher.request('presence.list', { room: 'pf' });
        return reply.event === 'presence.list' && reply.data.users.length === 2;
      }, 10_000);
      // The catch-up's list, the reaper's next beat, a late push: whatever else could come has come by then.
      await watcher.settle(NODE_TTL_MS * 2);
      const heard = presenceHeard(watcher, 'pf');
      expect(repeated(heard)).toEqual([]);
      expect(heard.at(-1)).toBe('presence.join pf-stayer');
    } finally {
      await stop();
    }
  });

  it('tells the members of a node cut off from Redis, once it is back, who left and who arrived on other nodes meanwhile, once each', async () => {
    const { node: cutOff, proxy, stop } = await startNodeBehindProxy();
    try {
      const watcher = await connect(cutOff, 'pc-watcher');
      await watcher.ok('room.join', { room: 'pc' });
      const leaver = await connect(nodes[0], 'pc-leaver');
      await leaver.ok('room.join', { room: 'pc' });
      const witness = await connect(nodes[1], 'pc-witness');
      await witness.ok('room.join', { room: 'pc' });
      await waitUntil(() => presenceHeard(watcher, 'pc').length === 2);

      proxy.cut();
      await waitUntil(async () => !(await ready(cutOff)), 10_000);
      await leaver.ok('room.leave', { room: 'pc' });
      const arriver = await connect(nodes[2], 'pc-arriver');
      await arriver.ok('room.join', { room: 'pc' });
      // Published to the nodes in touch with Redis, and lost for the cut-off one.
      await witness.next((f) => f.event === 'presence.leave' && f.data.user.id === 'pc-leaver');
      await witness.next((f) => f.event === 'presence.join' && f.data.user.id === 'pc-arriver');
      expect(presenceHeard(watcher, 'pc')).toEqual(['presence.join pc-leaver', 'presence.join pc-witness']);

      proxy.resume();
      await waitUntil(() => presenceHeard(watcher, 'pc').length >= 4, 10_000);
      // Whatever else could come (the node's rejoin, the reaper's next beat, a late push) has come by then.
      await watcher.settle(NODE_TTL_MS * 2);
      expect(presenceHeard(watcher, 'pc').slice(2).sort()).toEqual(['presence.join pc-arriver', 'presence.leave pc-leaver']);
      expect((await watcher.ok('presence.list', { room: 'pc' })).users.map((u: { id: string }) => u.id).sort()).toEqual(['pc-arriver', 'pc-watcher', 'pc-witness']);
    } finally {
      await stop();
    }
  });

  it('keeps serving through a Redis restart, reports not ready meanwhile, and loses no acknowledged message', async () => {
    const urls = nodes.map((node) => node.wsUrl);
    const resumers = ['v1', 'v2', 'v3'].map((name, n) => new ResumingClient([...urls.slice(n), ...urls.slice(0, n)], token(name), name, ['r']));
    await withTraffic(resumers, 'r', async (stopTraffic) => {
      await sleep(500);
      pauseRedis(redis);
      try {
        await sleep(300);
        expect((await fetch(`${nodes[0].httpUrl}/health/ready`)).status).toBe(503);
        // Each node still serves its own sockets.
        const local = await connect(nodes[2], 'local');
        expect((await local.ok('message.send', { room: 'lonely', text: 'still here', clientMsgId: 'l1' })).seq).toBe(1);
        await sleep(700);
      } finally {
        resumeRedis(redis);
      }
      for (let tries = 0; !(await ready(nodes[0])) && tries < 50; tries++) await sleep(100);
      expect(await ready(nodes[0])).toBe(true);
      await sleep(500);
      await stopTraffic();
      await waitUntil(() => resumers.every((client) => client.unacked === 0), 15_000);
      const acked = Math.max(...resumers.flatMap((client) => client.acks.map((ack) => ack.seq)));
      // Members that missed other nodes' messages during the outage catch up, without reconnecting.
      await waitUntil(() => resumers.every((client) => client.highestSeen('r') >= acked), 15_000);
      for (const client of resumers) {
        const seqs = [...new Set(client.deliveries.get('r')!.map((d) => d.seq))];
        expect(seqs).toEqual(Array.from({ length: acked }, (_, i) => i + 1));
      }
    });
  });
});

/**
 * Starts the resumers and, once each is connected, their traffic into `room`
 * (a send from each every 40 ms); `body` may stop the traffic. Whatever
 * happens, the traffic and the resumers are stopped: a failed expectation must
 * not leave them running and Jest waiting for them.
 */
async function withTraffic(resumers: ResumingClient[], room: string, body: (stopTraffic: () => Promise<void>) => Promise<void>): Promise<void> {
  let sending = true;
  let traffic = Promise.resolve();
  const stopTraffic = async () => {
    sending = false;
    await traffic;
  };
  resumers.forEach((client) => client.start());
  try {
    await waitUntil(() => resumers.every((client) => client.connections === 1));
    traffic = (async () => {
      while (sending) {
        resumers.forEach((client) => client.send(room));
        await sleep(40);
      }
    })();
    await body(stopTraffic);
  } finally {
    await stopTraffic();
    await Promise.all(resumers.map((client) => client.stop()));
  }
}
