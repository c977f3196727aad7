import { pauseRedis, resumeRedis, startRedis, stopRedis, type RedisServer } from '../../test/support/redis-server.js';
import { describeNeeding, redisMissing } from '../../test/support/requirements.js';
import { startTcpProxy } from '../../test/support/tcp-proxy.js';
import { waitUntil } from '../../test/support/wait.js';
import type { ControlMessage, RoomEvent } from './broker.js';
import { RedisBroker } from './redis-broker.js';
import { RedisConnections } from './redis-connections.js';

const ROOM = 'lonely\u0000';

// Nodes' brokers on a real Redis, stopped and started again under them, or reached through a proxy that can hang.
describeNeeding('RedisBroker across a Redis outage', redisMissing(), () => {
  let redis: RedisServer;
  const shutdowns: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const shutdown of shutdowns.splice(0)) await shutdown();
    stopRedis(redis);
  });

  function node(redisUrl = redis.url) {
    const connections = new RedisConnections({ redisUrl, keyPrefix: 'sb:', nodeTtlMs: 1500 });
    const broker = new RedisBroker(connections);
    shutdowns.push(() => broker.onApplicationShutdown());
    const events: RoomEvent[] = [];
    const controls: ControlMessage[] = [];
    broker.onRoomEvent((event) => events.push(event));
    broker.onControl((message) => controls.push(message));
    return { connections, broker, events, controls };
  }

  async function outage(during: () => Promise<void>): Promise<void> {
    pauseRedis(redis);
    try {
      await during();
    } finally {
      resumeRedis(redis);
    }
  }

  it("hears the other nodes' events of a room it began to watch while Redis was away", async () => {
    const late = node();
    await waitUntil(() => late.connections.ready);
    await outage(async () => {
      // A join during the outage: it waits a while for the subscription, then goes on.
      await late.broker.watchRoom(ROOM);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    });
    const other = node();
    await waitUntil(() => other.connections.ready && late.connections.ready);
    // Until the room's subscription is back, publishes may go unheard: keep publishing.
    await waitUntil(() => {
      other.broker.publishRoomEvent({ roomKey: ROOM, event: 'message', data: {}, seq: 1 });
      return late.events.length > 0;
    });
    expect(late.events[0]).toMatchObject({ roomKey: ROOM, seq: 1 });
  }, 20_000);

  it('catches up after its network dropped everything for longer than a command may take, its connections never closing', async () => {
    const proxy = await startTcpProxy(redis.port);
    try {
      const cutOff = node(`redis://127.0.0.1:${proxy.port}`);
      await waitUntil(() => cutOff.connections.ready);
      let catchUps = 0;
      cutOff.broker.onReconnect(() => catchUps++);
      proxy.hang();
      // A ping goes unanswered for 2 s: the node drops its connections and reconnects, as after any outage.
      await waitUntil(() => !cutOff.connections.ready, 10_000);
      proxy.resume();
      await waitUntil(() => catchUps > 0);
      expect(catchUps).toBe(1);
    } finally {
      await proxy.close();
    }
  }, 20_000);

  it('hears the control channel when it started while Redis was away', async () => {
    let started!: ReturnType<typeof node>;
    await outage(async () => {
      started = node();
      await new Promise((resolve) => setTimeout(resolve, 1500));
    });
    const other = node();
    await waitUntil(() => other.connections.ready && started.connections.ready);
    await waitUntil(async () => {
      await other.broker.publishControl({ type: 'permissions.changed', tenantId: 'acme' });
      return started.controls.length > 0;
    });
    expect(started.controls[0]).toEqual({ type: 'permissions.changed', tenantId: 'acme' });
  }, 20_000);
});
