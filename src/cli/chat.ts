import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { mintDevToken } from './dev-token.js';

const usage = `A terminal chat client for a development server: lines you type are sent to the room.

  npm run chat -- <userId> [room] [--name <display name>] [--tid <tenant>] [--url ws://localhost:3000/ws]`;

interface Frame {
  event: string;
  id?: string;
  data: Record<string, any>;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      tid: { type: 'string' },
      url: { type: 'string', default: `ws://localhost:${process.env.PORT ?? 3000}/ws` },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length < 1 || positionals.length > 2) {
    console.error(usage);
    process.exit(values.help ? 0 : 2);
  }
  const [user, room = 'general'] = positionals;
  const token = mintDevToken(user, { name: values.name, tid: values.tid, ttlSeconds: 86_400 });
  const socket = new WebSocket(values.url!, { headers: { Authorization: `Bearer ${token}` } });
  const send = (event: string, data: object) => socket.send(JSON.stringify({ event, id: randomUUID(), data }));
  const show = (message: Record<string, any>) =>
    console.log(`#${message.seq} ${message.sender.name}: ${message.text ?? JSON.stringify(message.payload)}`);

  socket.on('unexpected-response', (_request, response) => {
    console.error(`refused with HTTP ${response.statusCode}`);
    process.exit(1);
  });
  socket.on('error', (error) => {
    console.error(`cannot reach ${values.url}: ${error.message}`);
    process.exit(1);
  });
  // Live messages wait until the history up to the join is shown.
  let early: Array<Record<string, any>> | null = [];
  socket.on('open', () => {
    send('room.join', { room });
    console.log(`${user} in room ${room}; type a line and press enter (Ctrl-D to leave)`);
  });
  socket.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as Frame;
    if (frame.event === 'room.join') {
      // Everything up to lastSeq is history; everything after arrives live.
      send('history.fetch', { room, before: frame.data.lastSeq + 1, limit: 20 });
    } else if (frame.event === 'history.fetch') {
      for (const message of frame.data.messages) if (!message.deleted) show(message);
      for (const message of early ?? []) show(message);
      early = null;
    } else if (frame.event === 'message') {
      if (early) early.push(frame.data);
      else show(frame.data);
    } else if (frame.event === 'presence.join' || frame.event === 'presence.leave') {
      console.log(`* ${frame.data.user.name} ${frame.event === 'presence.join' ? 'joined' : 'left'}`);
    } else if (frame.event === 'error') {
      console.error(`! ${frame.data.code}: ${frame.data.message}`);
    }
  });
  socket.on('close', (code, reason) => {
    console.log(`closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`);
    process.exit(0);
  });
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line.trim()) send('message.send', { room, text: line, clientMsgId: randomUUID() });
    })
    .on('close', () => socket.close());
}

try {
  main();
} catch (error) {
  console.error(`chat: ${(error as Error).message}`);
  process.exit(1);
}
