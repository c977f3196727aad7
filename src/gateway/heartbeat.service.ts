import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';

/**
 * Protocol-level pings, one timer for every socket (and a comment for every
 * event stream): a socket that left two pings unanswered is terminated, and
 * its presence goes with it.
 */
@Injectable()
export class HeartbeatService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connections: ConnectionRegistry,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.beat(), this.options.websocket.pingIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  beat(): void {
    for (const connection of [...this.connections.all]) connection.heartbeat();
  }
}
