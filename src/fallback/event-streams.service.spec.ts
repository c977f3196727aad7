import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import type { Connection } from '../delivery/connection.js';
import type { DeliveryService } from '../delivery/delivery.service.js';
import type { GracefulShutdown } from '../gateway/graceful-shutdown.service.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { RealtimeError } from '../protocol/error-codes.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { EventStreamsService, resumePoint } from './event-streams.service.js';

/** What an SSE response goes through: its status, and the bytes written. */
class RecordingResponse extends EventEmitter {
  statusCode: number | undefined;
  headersSent = false;
  destroyed = false;
  writableLength = 0;
  written = '';
  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }
  write(chunk: string): boolean {
    this.written += chunk;
    return true;
  }
  end(chunk?: string): this {
    if (chunk) this.written += chunk;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

describe('EventStreamsService.open', () => {
  it('answers with the stream it began, not with an error, when the join is refused after telling the stream room.removed', async () => {
    const options = { auth: { clockToleranceSeconds: 0 }, websocket: { maxSocketsPerUser: 5, maxBufferedBytes: 1 << 20 } } as ResolvedRealtimeOptions;
    const connections = new ConnectionRegistry(options, { sockets: { set: () => undefined } } as unknown as RealtimeMetrics);
    // Access revoked while the join waited: the membership is taken out (room.removed), then the join is refused.
    const delivery = {
      onMembershipChange: () => undefined,
      disconnected: () => undefined,
      join: async (connection: Connection) => {
        connection.send(JSON.stringify({ event: 'room.removed', data: { room: 'ops', reason: 'forbidden' } }));
        throw RealtimeError.forbidden('joining room ops is no longer allowed');
      },
    } as unknown as DeliveryService;
    const streams = new EventStreamsService(connections, delivery, { draining: false } as GracefulShutdown, options);
    const user: AuthenticatedUser = { id: 'ann', name: 'Ann', tenantId: '', expiresAt: Math.floor(Date.now() / 1000) + 60 };
    const response = new RecordingResponse();
    await expect(streams.open(user, 'ops', undefined, response as unknown as ServerResponse)).resolves.toBeUndefined();
    expect(response.statusCode).toBe(200);
    expect(response.written).toContain('event: room.removed');
    expect(response.written).toContain('event: close');
  });
});

describe('resumePoint', () => {
  it('prefers the Last-Event-ID header, which an EventSource sends with the URL it first opened', () => {
    expect(resumePoint('13', 1)).toBe(13);
    expect(resumePoint('0', undefined)).toBe(0);
  });

  it('falls back to since, or to nothing', () => {
    expect(resumePoint(undefined, 4)).toBe(4);
    expect(resumePoint(undefined, undefined)).toBeUndefined();
  });

  it.each(['', 'abc', '-1', '1.5', '07', ' 7', '99999999999999999'])('refuses %j with the header named in the details', (header) => {
    expect.assertions(2);
    try {
      resumePoint(header, undefined);
    } catch (error) {
      expect(error).toBeInstanceOf(RealtimeError);
      expect((error as RealtimeError).details).toEqual([expect.objectContaining({ field: 'Last-Event-ID', constraint: 'integer' })]);
    }
  });
});
