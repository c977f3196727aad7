import type { SuiteServer } from './suite-server.js';
import type { TestClient } from './test-client.js';
import { waitUntil } from './wait.js';

/** About 15 KB: a few hundred of them are more than socket buffers hold. */
export const BULKY_PAYLOAD = { blob: 'x'.repeat(15_000) };

/**
 * Sends `count` bulky messages into the room as fast as one socket can, and
 * resolves once a member that keeps reading has them all, with that member
 * (for tests of readers that do not keep up).
 */
export async function floodRoom(suite: SuiteServer, room: string, count = 600): Promise<TestClient> {
  const reader = await suite.connect('fast');
  await reader.ok('room.join', { room });
  const publisher = await suite.connect('publisher');
  // In bursts of 50, each ended by an awaited send: one commit then holds at most a burst, so the
  // reader (in this process, unable to read while the server writes) is never sent more in one turn
  // than a socket's buffers and the slow-consumer limit allow, however the CPU is shared.
  for (let n = 0; n < count; n++) {
    const data = { room, payload: BULKY_PAYLOAD, clientMsgId: `f${n}` };
    if (n % 50 === 49) await publisher.ok('message.send', data);
    else publisher.sendRaw(JSON.stringify({ event: 'message.send', data }));
  }
  await waitUntil(() => reader.pushes('message', room).length === count, 20_000);
  return reader;
}
