import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SwitchboardClient, type MessageView, type SwitchboardError } from '../../client/index.js';
import { mintDevToken } from './dev-token.js';

const usage = `A terminal chat client for a development server: lines you type are sent to the room.

  npm run chat -- <userId> [room] [--name <display name>] [--tid <tenant>] [--url ws://localhost:3000/ws]`;

async function main(): Promise<void> {
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
  // The SDK reconnects, resumes the room and renews the token (minted afresh) by itself.
  const client = new SwitchboardClient({
    url: values.url!,
    auth: 'header',
    getToken: () => mintDevToken(user, { name: values.name, tid: values.tid, ttlSeconds: 3600 }),
  });
  const show = (message: MessageView) => console.log(`#${message.seq} ${message.sender.name}: ${message.text ?? JSON.stringify(message.payload)}`);
  const complain = (error: SwitchboardError) => console.error(`! ${error.code}: ${error.message}`);

  client.on('state', (change) => {
    if (change.state === 'connecting' && change.attempt > 0) {
      console.error(`cannot reach ${values.url}: ${change.reason}`);
      process.exit(1);
    } else if (change.state === 'reconnecting' && change.attempt === 1) {
      console.log(`* connection lost (${change.reason}); reconnecting`);
    } else if (change.state === 'open' && change.resumed) {
      console.log('* reconnected');
    } else if (change.state === 'closed') {
      console.log(`closed (${change.closeCode ?? '-'}: ${change.reason})`);
      // After close() the process ends by itself once the socket has closed.
      if (change.closeCode !== 1000) process.exit(1);
    }
  });
  client.on('presence.join', ({ user: { name } }) => console.log(`* ${name} joined`));
  client.on('presence.leave', ({ user: { name } }) => console.log(`* ${name} left`));
  // Live messages wait until the history up to the join is shown.
  let early: MessageView[] | null = [];
  client.on('message', (message) => (early ? early.push(message) : show(message)));

  await client.connect();
  const { lastSeq } = await client.join(room);
  console.log(`${user} in room ${room}; type a line and press enter (Ctrl-D to leave)`);
  // Everything up to lastSeq is history; everything after arrives live.
  const { messages } = await client.history(room, { before: lastSeq + 1, limit: 20 });
  for (const message of messages) if (!('deleted' in message)) show(message);
  for (const message of early) show(message);
  early = null;

  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if (line.trim()) client.send(room, line).catch(complain);
    })
    .on('close', () => void client.close());
}

main().catch((error: Error) => {
  console.error(`chat: ${error.message}`);
  process.exit(1);
});
