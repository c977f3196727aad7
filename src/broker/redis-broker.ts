import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Broker, type ControlMessage, type RoomEvent } from './broker.js';
import type { RedisConnections } from './redis-connections.js';

/** How long a join waits for the room's subscription while Redis is away. */
const WATCH_WAIT_MS = 1000;
/** How often a node whose publishes failed tries to tell the others to catch up. */
const RESYNC_RETRY_MS = 500;

interface Envelope<T> {
  /** The node that published it: it already applied it and ignores its own echo. */
  origin: string;
  body: T;
}

/** On the control channel: the origin's publishes failed for a while; what it said meanwhile must be caught up. */
interface Resync {
  origin: string;
  resync: true;
}

/**
 * The cluster broker on Redis pub/sub. A room's events go to the channel of
 * that room, once per event whatever the number of members and nodes; a node
 * subscribes to the rooms it has members in. Admin changes go to one control
 * channel every node subscribes to. Each node applies its own events locally
 * right away, so it keeps serving its sockets while Redis is away.
 */
export class RedisBroker extends Broker implements OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeBroker');
  private readonly controlChannel: string;
  private lastPublishFailure = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  /**
   * The channels this node listens to. Each time the subscriber connects they
   * are all subscribed again: ioredis restores only the subscriptions Redis
   * had confirmed, and a subscribe sent while Redis was away fails.
   */
  private readonly channels = new Set<string>();

  constructor(private readonly redis: RedisConnections) {
    super();
    this.controlChannel = redis.key('control');
    redis.subscriber.on('message', (channel: string, payload: string) => this.received(channel, payload));
    redis.subscriber.on('ready', () => void this.subscribeAll());
    // Subscribed first, then caught up: what is published after the catch-up's reads began arrives.
    redis.onReconnect(() => void this.subscribeAll().then(() => this.dispatchReconnect()));
    void this.subscribe(this.controlChannel);
  }

  publishRoomEvent(event: RoomEvent): void {
    this.dispatchRoomEvent(event);
    this.send(this.roomChannel(event.roomKey), event);
  }

  async publishControl(message: ControlMessage): Promise<void> {
    const failure = this.dispatchControl(message);
    if (failure) this.logger.error(`applying ${message.type}: ${failure.message}`, failure.stack);
    this.send(this.controlChannel, message);
  }

  async watchRoom(roomKey: string): Promise<void> {
    const subscribed = this.subscribe(this.roomChannel(roomKey));
    await Promise.race([subscribed, new Promise((resolve) => setTimeout(resolve, WATCH_WAIT_MS).unref())]);
  }

  unwatchRoom(roomKey: string): void {
    const channel = this.roomChannel(roomKey);
    this.channels.delete(channel);
    this.redis.subscriber.unsubscribe(channel).catch(() => undefined);
  }

  /** Connected, and answering: a Redis that hangs (stopped, or cut off without a reset) keeps its connections open. */
  async inTouch(): Promise<boolean> {
    if (!this.redis.ready) return false;
    try {
      await this.redis.commands.ping();
      return true;
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.resyncTimer);
    await this.redis.close();
  }

  private subscribe(channel: string): Promise<void> {
    this.channels.add(channel);
    return this.redis.subscriber.subscribe(channel).then(
      () => undefined,
      (error: Error) => this.logger.warn(`subscribing to ${channel}: ${error.message}; again once Redis is back`),
    );
  }

  private async subscribeAll(): Promise<void> {
    if (this.channels.size === 0) return;
    await this.redis.subscriber.subscribe(...this.channels).catch((error: Error) => this.logger.warn(`subscribing again: ${error.message}`));
  }

  private roomChannel(roomKey: string): string {
    return this.redis.key('room', Buffer.from(roomKey).toString('base64url'));
  }

  /**
   * Fire and forget. What the other nodes miss while this node cannot publish
   * (Redis away, or only this node's connection to it), they catch up from the
   * database once this node tells them to: other nodes' members in a quiet room
   * would otherwise never see the message, and their caches would keep a revoked role.
   */
  private send(channel: string, body: RoomEvent | ControlMessage): void {
    const envelope: Envelope<typeof body> = { origin: this.redis.nodeId, body };
    this.redis.commands.publish(channel, JSON.stringify(envelope)).catch((error: Error) => {
      if (Date.now() - this.lastPublishFailure > 5000) this.logger.warn(`publishing to other nodes failed: ${error.message}`);
      this.lastPublishFailure = Date.now();
      this.scheduleResync();
    });
  }

  private scheduleResync(): void {
    this.resyncTimer ??= setTimeout(() => {
      const resync: Resync = { origin: this.redis.nodeId, resync: true };
      this.redis.commands.publish(this.controlChannel, JSON.stringify(resync)).then(
        () => {
          this.resyncTimer = undefined;
          this.logger.log('told the other nodes to catch up with what this node could not publish');
        },
        () => {
          this.resyncTimer = undefined;
          this.scheduleResync();
        },
      );
    }, RESYNC_RETRY_MS);
  }

  private received(channel: string, payload: string): void {
    let envelope: Envelope<RoomEvent | ControlMessage> | Resync;
    try {
      envelope = JSON.parse(payload) as Envelope<RoomEvent | ControlMessage> | Resync;
    } catch {
      return this.logger.warn(`ignored a message that is not JSON on ${channel}`);
    }
    if (envelope.origin === this.redis.nodeId) return;
    if ('resync' in envelope) return this.dispatchReconnect();
    if (channel === this.controlChannel) {
      const failure = this.dispatchControl(envelope.body as ControlMessage);
      if (failure) this.logger.error(`applying ${(envelope.body as ControlMessage).type}: ${failure.message}`, failure.stack);
    } else {
      this.dispatchRoomEvent(envelope.body as RoomEvent);
    }
  }
}
