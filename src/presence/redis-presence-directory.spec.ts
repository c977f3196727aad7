import { startRedis, stopRedis, type RedisServer } from '../../test/support/redis-server.js';
import { describeNeeding, redisMissing } from '../../test/support/requirements.js';
import { startTcpProxy, type TcpProxy } from '../../test/support/tcp-proxy.js';
import { waitUntil } from '../../test/support/wait.js';
import type { Broker, RoomEvent } from '../broker/broker.js';
import { RedisBroker } from '../broker/redis-broker.js';
import { RedisConnections } from '../broker/redis-connections.js';
import { RedisPresenceDirectory } from './redis-presence-directory.js';

const ROOM = 'lobby\u0000';
const NODE_TTL_MS = 900;

// Two nodes' presence on a real Redis; one reaches it through a proxy that can drop everything without a reset.
describeNeeding('RedisPresenceDirectory', redisMissing(), () => {
  let redis: RedisServer;
  let proxy: TcpProxy;
  const shutdowns: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    redis = await startRedis();
    proxy = await startTcpProxy(redis.port);
  });
  afterAll(async () => {
    for (const shutdown of shutdowns.reverse()) await shutdown();
    await proxy.close();
    stopRedis(redis);
  });

  function node(redisUrl: string) {
    const connections = new RedisConnections({ redisUrl, keyPrefix: 'sb:', nodeTtlMs: NODE_TTL_MS });
    const broker = new RedisBroker(connections);
    const directory = new RedisPresenceDirectory(connections, broker);
    const events: RoomEvent[] = [];
    broker.onRoomEvent((event) => events.push(event));
    directory.onApplicationBootstrap();
    shutdowns.push(async () => {
      await directory.onApplicationShutdown();
      await broker.onApplicationShutdown();
    });
    return { connections, broker, directory, events };
  }

  it('lists again, and announces, the users of a node silently cut off for longer than its TTL, once it is back', async () => {
    const cutOff = node(`redis://127.0.0.1:${proxy.port}`);
    const other = node(redis.url);
    await waitUntil(() => cutOff.connections.ready && other.connections.ready);
    await other.broker.watchRoom(ROOM);
    expect(await cutOff.directory.arrive(ROOM, { id: 'carol', name: 'Carol' })).toBe(true);
    expect(await other.directory.list(ROOM)).toEqual([{ id: 'carol', name: 'Carol' }]);

    proxy.hang();
    // Taken for dead meanwhile, as a crashed node would be: carol's leave is pushed.
    await waitUntil(() => other.events.some((event) => event.event === 'presence.leave'));
    expect(await other.directory.list(ROOM)).toEqual([]);
    proxy.resume();

    // Still connected there: once the node is back, she is listed and announced again.
    await waitUntil(async () => (await other.directory.list(ROOM)).length > 0);
    expect(await other.directory.list(ROOM)).toEqual([{ id: 'carol', name: 'Carol' }]);
    await waitUntil(() => other.events.some((event) => event.event === 'presence.join'));
    expect(other.events.map((event) => [event.event, (event.data as { user: { id: string } }).user.id])).toEqual([
      ['presence.leave', 'carol'],
      ['presence.join', 'carol'],
    ]);
  }, 20_000);

  it('announces no leave of a user whose arrival Redis never took, while it does those of users it had', async () => {
    const cutOff = node(`redis://127.0.0.1:${proxy.port}`);
    const other = node(redis.url);
    await waitUntil(() => cutOff.connections.ready && other.connections.ready);
    const room = 'cut\u0000';
    await other.broker.watchRoom(room);
    expect(await cutOff.directory.arrive(room, { id: 'erin', name: 'Erin' })).toBe(true);

    proxy.cut();
    await waitUntil(() => !cutOff.connections.ready);
    await expect(cutOff.directory.arrive(room, { id: 'dave', name: 'Dave' })).rejects.toThrow();
    await expect(cutOff.directory.depart(room, 'dave')).rejects.toThrow();
    await expect(cutOff.directory.depart(room, 'erin')).rejects.toThrow();
    proxy.resume();

    // Erin's leave is announced once Redis is back, with a reaping; Dave, never announced, does not leave.
    await waitUntil(() => other.events.some((event) => event.event === 'presence.leave'));
    await waitUntil(async () => (await other.directory.list(room)).length === 0);
    expect(other.events.map((event) => [event.event, (event.data as { user: { id: string } }).user.id])).toEqual([['presence.leave', 'erin']]);
  }, 20_000);
});

/** A Redis whose scripts hang until the test fails them (the command timeout), or answer as the test says. */
function hangingRedis() {
  const pending: Array<(error: Error) => void> = [];
  const hangs = () => new Promise<never>((_resolve, reject) => pending.push(reject));
  /** The entries the rejoin writes for the reaper: departures Redis missed. */
  const handedToReaper: string[][] = [];
  let reconnect: () => void = () => undefined;
  const commands: Record<string, unknown> = {
    defineCommand: () => undefined,
    on: () => undefined,
    presenceArrive: hangs,
    presenceDepart: hangs,
    set: async () => 'OK',
    del: async () => 1,
    hset: async (...args: string[]) => (handedToReaper.push(args), 1),
    sadd: async () => 1,
    smembers: async () => [],
  };
  const connections = {
    commands,
    settings: { nodeTtlMs: 15_000 },
    beatMs: 5000,
    key: (...parts: string[]) => `sb:${parts.join(':')}`,
    onReconnect: (handler: () => void) => (reconnect = handler),
  } as unknown as RedisConnections;
  const directory = new RedisPresenceDirectory(connections, { publishRoomEvent: () => undefined } as unknown as Broker);
  return {
    directory,
    commands,
    handedToReaper,
    timeOut: () => pending.splice(0).forEach((reject) => reject(new Error('Command timed out'))),
    reconnect: () => reconnect(),
  };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('RedisPresenceDirectory, when Redis hangs', () => {
  it('announces no leave of a user who left while their arrival waited for Redis, which then failed', async () => {
    const redis = hangingRedis();
    // The socket joins and closes while Redis hangs: the departure waits for the arrival's answer.
    const outcomes = Promise.allSettled([redis.directory.arrive(ROOM, { id: 'dave', name: 'Dave' }), redis.directory.depart(ROOM, 'dave')]);
    redis.timeOut();
    await settled();
    redis.timeOut();
    expect((await outcomes).map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    // Redis is back: the rejoin hands the reaper only the departures of users whose joins were announced.
    redis.commands.presenceArrive = async () => 1;
    redis.reconnect();
    await waitUntil(() => (redis.directory as unknown as { rejoining: boolean }).rejoining === false);
    expect(redis.handedToReaper).toEqual([]);
  });

  it('still announces the leave of a user whose join was announced when only their re-arrival after an outage failed', async () => {
    const redis = hangingRedis();
    redis.commands.presenceArrive = async () => 1;
    expect(await redis.directory.arrive(ROOM, { id: 'erin', name: 'Erin' })).toBe(true);
    // An outage; at the rejoin Redis is slow and her re-arrival times out (it may well have run).
    redis.commands.presenceArrive = async () => Promise.reject(new Error('Command timed out'));
    redis.reconnect();
    await waitUntil(() => (redis.directory as unknown as { rejoining: boolean }).rejoining === false);
    // Later, Redis healthy, she leaves, and no node holds her any more.
    redis.commands.presenceDepart = async () => 1;
    expect(await redis.directory.depart(ROOM, 'erin')).toBe(true);
  });
});
