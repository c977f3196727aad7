import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

/** How long a Redis command may take before it fails (presence.list answers UNAVAILABLE, /health/ready 503). */
const COMMAND_TIMEOUT_MS = 2000;
/** The longest wait between two attempts to reconnect: every node is back within it once Redis answers again. */
export const RECONNECT_WAIT_MAX_MS = 2000;

export interface ClusterSettings {
  redisUrl: string;
  keyPrefix: string;
  nodeTtlMs: number;
}

/**
 * This node's two Redis connections (commands, and the subscriber that
 * pub/sub needs for itself) and its identity in the cluster. Commands fail at
 * once while Redis is away instead of queuing without bound.
 */
export class RedisConnections {
  readonly nodeId = randomUUID();
  readonly commands: Redis;
  readonly subscriber: Redis;
  /** The presence beat: how often this node tells Redis it is alive and checks that Redis answers. */
  readonly beatMs: number;
  private readonly logger = new Logger('RealtimeRedis');
  private readonly reconnectHandlers: Array<() => void> = [];
  private wasLost = false;
  private closing = false;
  private readonly watchdog: NodeJS.Timeout;
  private checking = false;
  /** Checks in a row that went unanswered: one may be a busy moment, two are a cut. */
  private unanswered = 0;

  constructor(readonly settings: ClusterSettings) {
    const options = {
      // Redis may be down when the node starts: keep trying; the node reports not ready meanwhile.
      retryStrategy: (attempt: number) => Math.min(100 * attempt, RECONNECT_WAIT_MAX_MS),
      maxRetriesPerRequest: 1,
    };
    // A Redis that hangs answers nothing: commands fail after a while instead of waiting for TCP to give up.
    this.commands = new Redis(settings.redisUrl, { ...options, enableOfflineQueue: false, commandTimeout: COMMAND_TIMEOUT_MS });
    this.subscriber = new Redis(settings.redisUrl, { ...options, autoResubscribe: true });
    for (const connection of [this.commands, this.subscriber]) {
      connection.on('error', (error: Error) => this.logger.debug(`redis: ${error.message}`));
      connection.on('close', () => this.lost());
      connection.on('ready', () => this.regained());
    }
    this.beatMs = Math.max(250, Math.floor(settings.nodeTtlMs / 3));
    this.watchdog = setInterval(() => void this.check(), this.beatMs);
    this.watchdog.unref();
  }

  get ready(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  key(...parts: string[]): string {
    return `${this.settings.keyPrefix}${parts.join(':')}`;
  }

  /** Called once both connections are back after an outage. */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
  }

  /**
   * A cut without a reset (a network that drops everything) leaves both
   * connections open and silent: commands time out, the subscriber hears
   * nothing, and no reconnect would ever catch up with what was missed, nor
   * restore this node's presence, which the other nodes meanwhile took for
   * dead. Reconnecting both makes it an outage like any other.
   */
  private async check(): Promise<void> {
    if (this.checking || this.closing || !this.ready) return;
    this.checking = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      // The subscriber too (it may sit idle behind a NAT that forgot it); it has no command timeout of its own.
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), COMMAND_TIMEOUT_MS)));
      await Promise.race([Promise.all([this.commands.ping(), this.subscriber.ping()]), late]);
      this.unanswered = 0;
    } catch {
      // A reconnect is not free (a subscription's gap loses presence pushes): not for one slow answer.
      if (this.closing || ++this.unanswered < 2) return;
      this.unanswered = 0;
      this.logger.warn('Redis does not answer: reconnecting');
      this.commands.disconnect(true);
      this.subscriber.disconnect(true);
    } finally {
      clearTimeout(timer);
      this.checking = false;
    }
  }

  private lost(): void {
    if (this.closing) return;
    if (!this.wasLost) this.logger.warn('lost the connection to Redis: other nodes are out of reach until it returns');
    this.wasLost = true;
  }

  private regained(): void {
    if (!this.wasLost || !this.ready) return;
    this.wasLost = false;
    this.logger.log('Redis is back: catching up with the other nodes');
    for (const handler of this.reconnectHandlers) handler();
  }
}
