import { readFileSync } from 'node:fs';
import type { HistoryEntry, MessageView, SendAck, SwitchboardClient } from '../../client/index.js';
import { record, sdkClients, tappedWebSocket } from '../support/sdk-clients.js';
import { restartableServer } from '../support/server-process.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ROOM = 'live';

/** Whether the process is stopped (SIGSTOP has taken effect): the third field of /proc/<pid>/stat is `T`. */
const isStopped = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('T');

async function wholeHistory(reader: SwitchboardClient): Promise<HistoryEntry[]> {
  const messages: HistoryEntry[] = [];
  for (let after = 0; ; ) {
    const page = await reader.history(ROOM, { after, limit: 100 });
    messages.push(...page.messages);
    if (!page.hasMore) return messages;
    after = page.messages.at(-1)!.seq;
  }
}

/**
 * The compiled server as a child process, killed or stopped and started again
 * while two SDK clients keep sending: afterwards every send is acknowledged
 * and stored once, and each client has shown every message once, in order.
 */
describe('the client SDK through a server restart', () => {
  const servers = restartableServer('sqlite');
  const clients = sdkClients(() => ({ url: servers.wsUrl, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } }));

  it.each([
    ['killed (SIGKILL) with a send on the wire it never read', 'SIGKILL', 1006],
    ['stopped (SIGTERM)', 'SIGTERM', 1012],
  ] as const)('resumes after the server is %s: nothing lost, nothing twice, all in order', async (_case, signal, closeCode) => {
    let server = await servers.start();
    const tap = tappedWebSocket();
    const alice = await clients.connect({ getToken: () => token('alice'), WebSocket: tap.WebSocket });
    const bob = await clients.connect({ getToken: () => token('bob') });
    const alices = record(alice);
    const bobs = record(bob);
    await alice.join(ROOM);
    await bob.join(ROOM);

    // Sends wait as long as it takes (timeoutMs 0): across the restart they are resent until acknowledged.
    const sends: Array<Promise<SendAck>> = [];
    let sending = true;
    const traffic = (async () => {
      for (let i = 0; sending; i++) {
        sends.push(alice.send(ROOM, `alice ${i}`, { clientMsgId: `alice-${i}`, timeoutMs: 0 }));
        sends.push(bob.send(ROOM, `bob ${i}`, { clientMsgId: `bob-${i}`, timeoutMs: 0 }));
        await sleep(30);
      }
    })();
    await waitUntil(() => bobs.messages.length >= 20);

    let unread: Promise<SendAck> | undefined;
    if (signal === 'SIGKILL') {
      // A frozen server reads nothing more: this send is on the wire, in no database, unacknowledged when the process dies.
      server.child.kill('SIGSTOP');
      await waitUntil(() => isStopped(server.child.pid!));
      unread = alice.send(ROOM, 'sent to a frozen server', { clientMsgId: 'unread', timeoutMs: 0 });
      await sleep(100);
    }
    server.child.kill(signal);
    await server.exited;
    server = await servers.start();
    await waitUntil(() => alice.state === 'open' && bob.state === 'open', 20_000);
    await sleep(500);
    sending = false;
    await traffic;

    const acks = await Promise.all(sends);
    const reader = await clients.connect({ getToken: () => token('auditor') });
    const history = (await wholeHistory(reader)) as MessageView[];
    const last = history.length;
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    const keys = history.map((m) => `${m.sender.id}/${m.clientMsgId}`);
    expect(new Set(keys).size).toBe(last);
    const bySeq = new Map(history.map((m) => [m.seq, m]));
    for (const ack of acks) expect(bySeq.get(ack.seq)?.messageId).toBe(ack.messageId);
    expect(last).toBe(sends.length + (unread ? 1 : 0));

    if (unread) {
      const ack = await unread;
      // Never stored before the crash, stored once after it: sent once on the socket that died, once on the next.
      expect(ack.duplicate).toBe(false);
      expect(bySeq.get(ack.seq)?.clientMsgId).toBe('unread');
      const transmissions = tap.sockets.map(({ sent }) => sent.filter((frame) => frame.data?.clientMsgId === 'unread').length);
      expect(transmissions.filter((count) => count > 0)).toEqual([1, 1]);
    }

    await waitUntil(() => alices.messages.length >= last && bobs.messages.length >= last, 10_000);
    await sleep(200);
    for (const recording of [alices, bobs]) {
      expect(recording.messages.map((m) => m.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect(recording.states).toContainEqual(expect.objectContaining({ state: 'reconnecting', closeCode }));
      expect(recording.states.at(-1)).toEqual({ state: 'open', resumed: true });
    }
    expect(acks.length).toBeGreaterThan(40);
  });
});
