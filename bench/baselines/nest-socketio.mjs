/**
 * Baseline: what a Nest team would pick instead. A NestJS gateway on
 * @nestjs/platform-socket.io with Socket.IO rooms; no authentication, no
 * storage. Publishes are acknowledged (the handler's return value) and
 * broadcast with `server.to(room).emit`.
 *
 *   PORT=3002 node bench/baselines/nest-socketio.mjs
 */
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WebSocketServer } from '@nestjs/websockets';
import { startNestBaseline } from './nest-baseline.mjs';

class RoomsGateway {
  join(body, client) {
    client.join(body.room);
    return { room: body.room };
  }

  publish(body) {
    this.server.to(body.room).emit('message', { room: body.room, payload: body.payload });
    return { room: body.room };
  }
}
WebSocketServer()(RoomsGateway.prototype, 'server');

await startNestBaseline(RoomsGateway, {
  gatewayOptions: { transports: ['websocket'], perMessageDeflate: false },
  createAdapter: (app) => new IoAdapter(app),
  defaultPort: 3002,
});
