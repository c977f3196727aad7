import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';

/** About how often a tick pings its share of the sockets. */
const TICK_MS = 250;

/**
 * Protocol-level pings (and a comment for every event stream): a socket that
 * left two pings unanswered is terminated, and its presence goes with it.
 *
 * Each socket is pinged once per interval, always at the same tick of it: the
 * sockets are dealt round the interval's ticks as they come. Pinging them all
 * at once held the event loop for up to 66 ms at 1,000 sockets (the pings
 * written, then the pongs read), delaying every delivery due meanwhile.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  /** Ticks per interval. */
  readonly slots: number;
  private tick = 0;
  private nextSlot = 0;

  constructor(
    private readonly connections: ConnectionRegistry,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {
    this.slots = Math.max(1, Math.round(options.websocket.pingIntervalMs / TICK_MS));
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.beat(), this.options.websocket.pingIntervalMs / this.slots);
    this.timer.unref();
  }

  /** In the last phase of a shutdown: sockets and streams are pinged until GracefulShutdown has closed them. */
  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One tick: pings the sockets of its slot (a socket terminated meanwhile leaves the set, which the walk allows). */
  beat(): void {
    const slot = this.tick;
    this.tick = (slot + 1) % this.slots;
    for (const connection of this.connections.all) {
      if (connection.heartbeatSlot < 0) {
        connection.heartbeatSlot = this.nextSlot;
        this.nextSlot = (this.nextSlot + 1) % this.slots;
      }
      if (connection.heartbeatSlot === slot) connection.heartbeat();
    }
  }
}
