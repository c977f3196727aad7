/**
 * Reference: a naive NestJS gateway on @nestjs/platform-ws (the stock
 * WsAdapter), rooms in a Map, no authentication, no storage; each publish
 * is serialised once and sent to every member of its room.
 *
 *   PORT=3003 node bench/baselines/nest-ws.mjs
 *
 * Same frames as plain-ws.mjs.
 */
import { WsAdapter } from '@nestjs/platform-ws';
import { startNestBaseline } from './nest-baseline.mjs';

class RoomsGateway {
  rooms = new Map();

  join(body, client) {
    if (!this.rooms.has(body.room)) this.rooms.set(body.room, new Set());
    this.rooms.get(body.room).add(client);
    client.once('close', () => this.rooms.get(body.room)?.delete(client));
  }

  publish(body) {
    const push = JSON.stringify({ event: 'message', data: { room: body.room, payload: body.payload } });
    for (const member of this.rooms.get(body.room) ?? []) member.send(push);
  }
}

await startNestBaseline(RoomsGateway, {
  gatewayOptions: { path: '/ws', perMessageDeflate: false },
  createAdapter: (app) => new WsAdapter(app),
  defaultPort: 3003,
});
