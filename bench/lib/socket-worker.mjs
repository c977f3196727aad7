/**
 * A load process for the idle-socket and connect-storm scenarios: one
 * process holds at most as many sockets as its file limit allows and one
 * source address has ~28,000 ephemeral ports, so the benchmark forks several,
 * each on its own loopback address (127.n.0.x). Driven over IPC by bench/run.mjs.
 */
import { joinAll, openIdle } from './load.mjs';
import { hs256Token } from './tokens.mjs';

let held;
let options;
process.on('message', async (command) => {
  if (command.type === 'open') {
    options = command;
    held = await openIdle({
      urls: [command.url],
      protocol: command.protocol,
      token: (sub) => hs256Token(command.secret, { sub }),
      count: command.count,
      offset: command.offset,
      rooms: 0,
      localAddress: command.localAddress,
    });
    process.send({ type: 'opened', opened: held.sockets.length, failures: held.failures, firstError: held.firstError, elapsedMs: held.elapsedMs });
  } else if (command.type === 'join') {
    await joinAll(held.sockets, { rooms: command.rooms, offset: options.offset });
    process.send({ type: 'joined' });
  } else if (command.type === 'close') {
    held?.close();
    process.exit(0);
  }
});
