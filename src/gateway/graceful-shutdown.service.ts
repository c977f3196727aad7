import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import { CloseCode } from '../protocol/events.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';

/**
 * The socket side of a shutdown (SIGTERM, `app.close()`): take no new
 * sockets, streams, polls or HTTP sends (the admin API's publishes too), answer the frames already being
 * handled, refuse new ones with UNAVAILABLE, then close every socket with
 * 1012 so that clients reconnect elsewhere and resume with `since`. The message writer
 * finishes storing what it accepted before the database closes.
 *
 * Nest runs every provider's `onModuleDestroy` before any
 * `beforeApplicationShutdown`: draining begins in the first of those phases,
 * and every step that stops something (answering pending polls, closing
 * sockets, stopping the heartbeat and the catch-up retries) waits for the
 * later ones, so that nothing new is taken into a half-stopped server.
 */
@Injectable()
export class GracefulShutdown implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger('RealtimeShutdown');
  private framesInProgress = 0;
  private idle: (() => void) | undefined;
  draining = false;

  constructor(
    private readonly connections: ConnectionRegistry,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  frameStarted(): void {
    this.framesInProgress++;
  }

  frameFinished(): void {
    if (--this.framesInProgress === 0) this.idle?.();
  }

  onModuleDestroy(): void {
    this.draining = true;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + this.options.websocket.shutdownTimeoutMs;
    if (this.framesInProgress > 0) {
      await this.until(new Promise<void>((resolve) => (this.idle = resolve)), deadline);
    }
    const sockets = [...this.connections.all];
    if (sockets.length > 0) this.logger.log(`closing ${sockets.length} sockets for the restart`);
    const closed = sockets.map((connection) => connection.closed);
    for (const connection of sockets) connection.close(CloseCode.SERVICE_RESTART, 'server restarting; reconnect and resume with since');
    await this.until(Promise.all(closed), deadline);
    for (const connection of this.connections.all) connection.terminate();
  }

  private until(promise: Promise<unknown>, deadline: number): Promise<unknown> {
    return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
  }
}
