/**
 * Baseline: the Node floor. A plain `ws` server with rooms in a Map, no
 * authentication, no storage; each publish is serialised once and sent to
 * every member of its room.
 *
 *   PORT=3001 node bench/baselines/plain-ws.mjs
 *
 * Frames: {event: 'join', data: {room}}, {event: 'publish', data: {room, payload}};
 * pushes {event: 'message', data: {room, payload}}.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const rooms = new Map();
const server = createServer((request, response) => {
  response.writeHead(request.url === '/health/live' ? 200 : 404).end();
});
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });

wss.on('connection', (socket) => {
  const joined = new Set();
  socket.on('message', (raw) => {
    let frame;
    try {
      frame = JSON.parse(raw.toString());
    } catch {
      return;
    }
    const room = frame?.data?.room;
    if (typeof room !== 'string') return;
    if (frame.event === 'join') {
      if (!rooms.has(room)) rooms.set(room, new Set());
      rooms.get(room).add(socket);
      joined.add(room);
    } else if (frame.event === 'publish') {
      const push = JSON.stringify({ event: 'message', data: { room, payload: frame.data.payload } });
      for (const member of rooms.get(room) ?? []) member.send(push);
    }
  });
  socket.on('close', () => {
    for (const room of joined) rooms.get(room)?.delete(socket);
  });
});

server.listen(Number(process.env.PORT ?? 3001), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
