import { randomUUID } from 'node:crypto';
import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Broker } from '../broker/broker.js';
import type { RedisConnections } from '../broker/redis-connections.js';
import { ServerEvent } from '../protocol/events.js';
import type { RoomUserPush, UserView } from '../protocol/wire.js';
import { PresenceDirectory } from './presence-directory.js';

/**
 * Presence in Redis. Each room has a hash of `member|userId` -> name, where a
 * member is one node for as long as it stays in touch (a fresh member id after
 * each Redis outage). A member keeps a key alive with a TTL; entries of
 * members whose key expired (a crashed node) are ignored at once and removed
 * by the reaper, which pushes `presence.leave` for users gone everywhere.
 */
const ARRIVE = `
redis.call('HSET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], ARGV[3])
redis.call('SADD', KEYS[2], KEYS[1])
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local bar = string.find(field, '|', 1, true)
  local member = string.sub(field, 1, bar - 1)
  if member ~= ARGV[1] and string.sub(field, bar + 1) == ARGV[2] and redis.call('EXISTS', ARGV[4] .. member) == 1 then return 0 end
end
return 1`;

const DEPART = `
redis.call('HDEL', KEYS[1], ARGV[1] .. '|' .. ARGV[2])
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  local bar = string.find(field, '|', 1, true)
  local member = string.sub(field, 1, bar - 1)
  if string.sub(field, bar + 1) == ARGV[2] and redis.call('EXISTS', ARGV[4] .. member) == 1 then return 0 end
end
return 1`;

/** Alive entries as a flat list: userId, name, userId, name, ... */
const LIST = `
local result = {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local bar = string.find(entries[i], '|', 1, true)
  if redis.call('EXISTS', ARGV[1] .. string.sub(entries[i], 1, bar - 1)) == 1 then
    table.insert(result, string.sub(entries[i], bar + 1))
    table.insert(result, entries[i + 1])
  end
end
return result`;

/** Removes the entries of dead members; returns userId, name pairs of users now gone from the room. */
const REAP = `
local gone, dead, alive = {}, {}, {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local bar = string.find(entries[i], '|', 1, true)
  local user = string.sub(entries[i], bar + 1)
  if redis.call('EXISTS', ARGV[1] .. string.sub(entries[i], 1, bar - 1)) == 1 then
    alive[user] = true
  else
    redis.call('HDEL', KEYS[1], entries[i])
    dead[user] = entries[i + 1]
  end
end
for user, name in pairs(dead) do
  if not alive[user] then table.insert(gone, user) table.insert(gone, name) end
end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], KEYS[1]) end
return gone`;

/** A user in a room, as one string (JSON: ids may contain any character). */
const presenceKey = (roomKey: string, userId: string) => JSON.stringify([roomKey, userId]);

type Scripted = {
  presenceArrive(hash: string, rooms: string, member: string, userId: string, name: string, nodePrefix: string): Promise<number>;
  presenceDepart(hash: string, member: string, userId: string, nodePrefix: string): Promise<number>;
  presenceList(hash: string, nodePrefix: string): Promise<string[]>;
  presenceReap(hash: string, rooms: string, nodePrefix: string): Promise<string[]>;
};

export class RedisPresenceDirectory extends PresenceDirectory implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RealtimePresence');
  private member = randomUUID();
  private readonly local = new Map<string, Map<string, string>>();
  /** Departures Redis did not take (it was away), per room: userId -> name. */
  private readonly unannounced = new Map<string, Map<string, string>>();
  /** Arrivals Redis did not take, by room and user (nothing was announced: their departures are not either). */
  private readonly unshared = new Set<string>();
  /** Arrivals still waiting for Redis's answer, by room and user: a departure waits for it to know which it follows. */
  private readonly arriving = new Map<string, Promise<boolean>>();
  private timer: NodeJS.Timeout | undefined;
  /** This member's key was set: a beat that finds it gone was taken for dead (see beat). */
  private alive = false;
  private rejoining = false;
  /** A rejoin asked for while one runs: it runs again after it. */
  private rejoinAgain = false;
  private readonly nodePrefix: string;
  private readonly roomsKey: string;

  constructor(
    private readonly redis: RedisConnections,
    private readonly broker: Broker,
  ) {
    super();
    this.nodePrefix = redis.key('member', '');
    this.roomsKey = redis.key('presence-rooms');
    const commands = redis.commands;
    commands.defineCommand('presenceArrive', { numberOfKeys: 2, lua: ARRIVE });
    commands.defineCommand('presenceDepart', { numberOfKeys: 1, lua: DEPART });
    commands.defineCommand('presenceList', { numberOfKeys: 1, lua: LIST });
    commands.defineCommand('presenceReap', { numberOfKeys: 2, lua: REAP });
    redis.onReconnect(() => void this.rejoin());
    // Alive as soon as Redis answers: entries of a member without its key are reaped as a dead node's.
    // Not reaping yet: after an outage, leaves wait a beat for every node to be subscribed again (rejoin).
    redis.commands.on('ready', () => void this.beat(false));
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.beat(), this.redis.beatMs);
    this.timer.unref();
    void this.beat();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.commands.del(this.nodeKey()).catch(() => undefined);
  }

  arrive(roomKey: string, user: UserView): Promise<boolean> {
    this.remember(roomKey, user.id, user.name);
    const key = presenceKey(roomKey, user.id);
    const arrival = this.share(roomKey, user).catch((error: unknown) => {
      // Shared once Redis is back (rejoin), if the user is still here then.
      this.unshared.add(key);
      throw error;
    });
    this.arriving.set(key, arrival);
    void arrival
      .catch(() => undefined)
      .finally(() => {
        if (this.arriving.get(key) === arrival) this.arriving.delete(key);
      });
    return arrival;
  }

  async depart(roomKey: string, userId: string): Promise<boolean> {
    const name = this.local.get(roomKey)?.get(userId);
    this.local.get(roomKey)?.delete(userId);
    if (this.local.get(roomKey)?.size === 0) this.local.delete(roomKey);
    const key = presenceKey(roomKey, userId);
    // A socket may join and leave while Redis hangs: whether its arrival was shared is known once it answers.
    await this.arriving.get(key)?.catch(() => undefined);
    // Its arrival never reached Redis, so no join was announced: no leave either.
    const neverShared = this.unshared.delete(key);
    try {
      return (await this.scripts.presenceDepart(this.hash(roomKey), this.member, userId, this.nodePrefix)) === 1 && !neverShared;
    } catch (error) {
      // Announced once Redis is back (rejoin), if no node holds the user then.
      if (name !== undefined && !neverShared) this.remember(roomKey, userId, name, this.unannounced);
      throw error;
    }
  }

  /**
   * Puts the user in the room's hash for this member; whether no other node
   * had them there (their join is news). A rejoin's failure leaves the user
   * as they were: a join announced before the outage still was.
   */
  private async share(roomKey: string, user: UserView): Promise<boolean> {
    const arrived = await this.scripts.presenceArrive(this.hash(roomKey), this.roomsKey, this.member, user.id, user.name, this.nodePrefix);
    this.unshared.delete(presenceKey(roomKey, user.id));
    return arrived === 1;
  }

  async list(roomKey: string): Promise<UserView[]> {
    const flat = await this.scripts.presenceList(this.hash(roomKey), this.nodePrefix);
    const users = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) users.set(flat[i], flat[i + 1]);
    return [...users].map(([id, name]) => ({ id, name }));
  }

  private get scripts(): Scripted {
    return this.redis.commands as unknown as Scripted;
  }

  private hash(roomKey: string): string {
    return this.redis.key('presence', Buffer.from(roomKey).toString('base64url'));
  }

  private nodeKey(): string {
    return `${this.nodePrefix}${this.member}`;
  }

  private remember(roomKey: string, userId: string, name: string, table = this.local): void {
    let users = table.get(roomKey);
    if (!users) table.set(roomKey, (users = new Map()));
    users.set(userId, name);
  }

  /**
   * Keeps this member alive, and removes dead members' entries (one node at a
   * time). A member whose key expired was taken for dead (Redis unreachable
   * for longer than the TTL, without the connection ever closing): its
   * entries were reaped and their users' leaves pushed, so it rejoins.
   */
  private async beat(reap = true): Promise<void> {
    const { commands, settings } = this.redis;
    const member = this.member;
    try {
      if (!this.alive) {
        await commands.set(this.nodeKey(), '1', 'PX', settings.nodeTtlMs);
        this.alive = true;
      } else if ((await commands.set(this.nodeKey(), '1', 'PX', settings.nodeTtlMs, 'XX')) === null) {
        // Beats held up with the connection all find the key gone: the first rejoins.
        if (member !== this.member) return;
        this.logger.warn('this node was taken for dead by the others (Redis out of reach for longer than the node TTL): rejoining');
        return void this.rejoin();
      }
      if (!reap) return;
      if ((await commands.set(this.redis.key('reaper'), this.member, 'PX', this.redis.beatMs, 'NX')) !== 'OK') return;
      for (const hash of await commands.smembers(this.roomsKey)) {
        const gone = await this.scripts.presenceReap(hash, this.roomsKey, this.nodePrefix);
        const roomKey = Buffer.from(hash.slice(this.redis.key('presence', '').length), 'base64url').toString();
        for (let i = 0; i < gone.length; i += 2) this.announce(roomKey, ServerEvent.PRESENCE_LEAVE, gone[i], gone[i + 1]);
      }
    } catch (error) {
      this.logger.debug(`presence heartbeat: ${(error as Error).message}`);
    }
  }

  /**
   * After an outage this node may have been taken for dead, and its entries
   * may be stale: it comes back as a new member with what it holds now (users
   * the other nodes saw leave, or whom Redis forgot, arrive again; not to
   * themselves). Then the old member ends at once: its entries are reaped
   * without a push for users still here, and users who left during the outage
   * leave with the next reaping, not when its key would have expired.
   */
  private async rejoin(): Promise<void> {
    if (this.rejoining) {
      this.rejoinAgain = true;
      return;
    }
    this.rejoining = true;
    try {
      await this.rejoinAsNewMember();
    } finally {
      this.rejoining = false;
      if (this.rejoinAgain) {
        this.rejoinAgain = false;
        void this.rejoin();
      }
    }
  }

  /** The rejoin itself, one at a time: two at once would each end the other's new member. */
  private async rejoinAsNewMember(): Promise<void> {
    const previous = this.member;
    this.member = randomUUID();
    this.alive = false;
    await this.beat();
    for (const [roomKey, users] of this.local) {
      for (const [id, name] of users) {
        try {
          if (await this.share(roomKey, { id, name })) this.announce(roomKey, ServerEvent.PRESENCE_JOIN, id, name);
        } catch (error) {
          this.logger.debug(`presence rejoin: ${(error as Error).message}`);
        }
      }
    }
    try {
      const { commands } = this.redis;
      await commands.del(`${this.nodePrefix}${previous}`);
      // Each departure Redis missed becomes an entry of the ended member (Redis may have forgotten it):
      // the reaper announces it with the leaves of crashed nodes, a beat from now, when every node
      // is subscribed again (a push published before would not reach a node still reconnecting).
      for (const [roomKey, users] of this.unannounced) {
        for (const [id, name] of users) {
          if (this.local.get(roomKey)?.has(id)) continue;
          await commands.hset(this.hash(roomKey), `${previous}|${id}`, name);
          await commands.sadd(this.roomsKey, this.hash(roomKey));
        }
      }
      this.unannounced.clear();
    } catch (error) {
      this.logger.debug(`presence rejoin: ${(error as Error).message}`);
    }
  }

  private announce(roomKey: string, event: string, id: string, name: string): void {
    const push: RoomUserPush = { room: roomKey.split('\u0000')[0], user: { id, name } };
    this.broker.publishRoomEvent({ roomKey, event, data: push, excludeUserId: id });
  }
}
