import { describeEachDatabase } from '../support/databases.js';
import { ResumingClient } from '../support/resuming-client.js';
import { restartableServer, type ServerProcess } from '../support/server-process.js';
import { TestClient } from '../support/test-client.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

const ROOMS = ['alpha', 'beta'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Several clients send and receive continuously while the server is killed
 * and restarted under them. Whatever was acknowledged must reach every member
 * once (after de-duplication by seq), in order, without gaps, and be in the
 * history.
 */
describeEachDatabase('server faults', (kind) => {
  const servers = restartableServer(kind);

  async function runThrough(fault: (server: ServerProcess) => Promise<void>) {
    let server = await servers.start();
    const url = servers.wsUrl;
    const clients = ['ann', 'ben', 'cat', 'dan'].map((name) => new ResumingClient(url, token(name), name, ROOMS));
    clients.forEach((client) => client.start());
    let sending = true;
    const traffic = (async () => {
      for (let tick = 0; sending; tick++) {
        for (const client of clients) client.send(ROOMS[tick % ROOMS.length]);
        await sleep(40);
      }
    })();

    try {
      await sleep(1200);
      await fault(server);
      await sleep(300);
      server = await servers.start();
      await sleep(1200);
      sending = false;
      await traffic;

      await waitUntil(() => clients.every((client) => client.unacked === 0), 20_000);
      const acks = clients.flatMap((client) => client.acks);
      const highest = new Map(ROOMS.map((room) => [room, Math.max(0, ...acks.filter((a) => a.room === room).map((a) => a.seq))]));
      await waitUntil(() => clients.every((client) => ROOMS.every((room) => client.highestSeen(room) >= highest.get(room)!)), 20_000);

      // History, read back through a fresh client, holds every acknowledged message exactly once.
      const reader = await TestClient.connect(url, { token: token('auditor') });
      const history = new Map<string, Array<{ seq: number; messageId: string; clientMsgId: string; sender: { id: string } }>>();
      for (const room of ROOMS) {
        const messages = [];
        for (let after = 0; ; ) {
          const page = await reader.ok('history.fetch', { room, after, limit: 100 });
          messages.push(...page.messages);
          if (!page.hasMore) break;
          after = page.messages.at(-1).seq;
        }
        history.set(room, messages);
      }
      await reader.close();

      for (const room of ROOMS) {
        const stored = history.get(room)!;
        expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: highest.get(room)! }, (_, i) => i + 1));
        const keys = stored.map((m) => `${m.sender.id}/${m.clientMsgId}`);
        expect(new Set(keys).size).toBe(keys.length);
        const bySeq = new Map(stored.map((m) => [m.seq, m.messageId]));
        for (const ack of acks.filter((a) => a.room === room)) expect(bySeq.get(ack.seq)).toBe(ack.messageId);

        for (const client of clients) {
          const deliveries = client.deliveries.get(room)!;
          // First deliveries come in increasing seq order; de-duplicated, they are exactly 1..highest.
          const firsts: number[] = [];
          const seen = new Set<number>();
          for (const { seq, messageId } of deliveries) {
            expect(messageId).toBe(bySeq.get(seq));
            if (!seen.has(seq)) firsts.push(seq);
            seen.add(seq);
          }
          expect(firsts).toEqual(Array.from({ length: highest.get(room)! }, (_, i) => i + 1));
        }
      }
      expect(acks.length).toBeGreaterThan(100);
      return { clients, acks };
    } finally {
      sending = false;
      await Promise.all(clients.map((client) => client.stop()));
    }
  }

  it('loses nothing acknowledged when the server is killed (SIGKILL) mid-stream and restarted', async () => {
    const { clients } = await runThrough(async (server) => {
      server.child.kill('SIGKILL');
      expect((await server.exited).signal).toBe('SIGKILL');
    });
    expect(clients.every((client) => client.connections >= 2)).toBe(true);
  });

  it('loses nothing accepted when the server is stopped (SIGTERM): sockets close with 1012, the process exits 0', async () => {
    const { clients } = await runThrough(async (server) => {
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 0, signal: null });
    });
    expect(clients.every((client) => client.closeCodes.includes(1012))).toBe(true);
  });
});
