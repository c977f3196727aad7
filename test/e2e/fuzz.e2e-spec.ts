import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshDatabase } from '../support/databases.js';
import { FrameFuzzer, randomSource } from '../support/fuzz-frames.js';
import { freePort } from '../support/postgres-server.js';
import { ServerProcess, testServerEnv } from '../support/server-process.js';
import { TestClient } from '../support/test-client.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

const FRAMES_PER_SOCKET = 1500;
const FUZZ_SOCKETS = 4;
const MAX_PAYLOAD = 65_536;

/**
 * Thousands of random and malformed frames from several sockets against the
 * compiled server, while two well-behaved clients chat next to them.
 */
describe('fuzzing the WebSocket endpoint', () => {
  let server: ServerProcess;
  let url: string;
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

  beforeAll(async () => {
    const port = await freePort();
    url = `ws://127.0.0.1:${port}/ws`;
    const database = await freshDatabase('sqlite');
    server = ServerProcess.start(
      mkdtempSync(join(tmpdir(), 'switchboard-fuzz-')),
      testServerEnv(port, {
        WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD),
        // The fuzzers send as fast as they can and read in bursts (one test process drives them all):
        // the point is what each frame does, not the flood and slow-consumer limits (see limits.e2e-spec.ts).
        WS_RATE_LIMIT_PER_SECOND: '100000',
        WS_RATE_LIMIT_BURST: '100000',
        WS_MAX_BUFFERED_BYTES: String(256 * 1024 * 1024),
        ...database.variables,
      }),
    );
    await server.listening();
  });
  afterAll(async () => {
    await server.stop();
  });

  it(`answers every frame with a reply or an error, stays up and leaves a well-behaved client alone (seed ${seed})`, async () => {
    const random = randomSource(seed);
    const rooms = ['a', 'b', 'fuzz-1', 'fuzz:2', 'x'.repeat(128)];
    const alice = await TestClient.connect(url, { token: token('alice') });
    const bob = await TestClient.connect(url, { token: token('bob') });
    await bob.ok('room.join', { room: 'calm' });
    const fuzzers = await Promise.all(Array.from({ length: FUZZ_SOCKETS }, (_, n) => TestClient.connect(url, { token: token(`fuzzer-${n}`) })));

    let chatting = true;
    const acked: number[] = [];
    const chat = (async () => {
      for (let n = 0; chatting; n++) {
        acked.push((await alice.ok('message.send', { room: 'calm', text: `calm ${n}`, clientMsgId: `calm-${n}` })).seq);
        expect((await alice.request('ping')).event).toBe('pong');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const expectedAnswers = fuzzers.map(() => 0);
    const expectedIds = fuzzers.map(() => new Set<string>());
    await Promise.all(
      fuzzers.map(async (fuzzer, index) => {
        const frames = new FrameFuzzer(randomSource(seed + index + 1), rooms, MAX_PAYLOAD);
        for (let n = 0; n < FRAMES_PER_SOCKET; n++) {
          const frame = frames.next();
          fuzzer.sendRaw(frame.payload, frame.binary);
          expectedAnswers[index]++;
          if (frame.id) expectedIds[index].add(frame.id);
          if (n % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );

    // Every frame gets exactly one answer: a reply with its id, or an error.
    const answers = (client: TestClient) => client.frames.filter((f) => f.id !== undefined || f.event === 'error');
    await waitUntil(() => fuzzers.every((fuzzer, index) => answers(fuzzer).length >= expectedAnswers[index]), 20_000);
    await fuzzers[0].settle(300);
    fuzzers.forEach((fuzzer, index) => {
      expect(answers(fuzzer)).toHaveLength(expectedAnswers[index]);
      const answeredIds = new Set(answers(fuzzer).map((f) => f.id).filter((id) => id !== undefined));
      for (const id of expectedIds[index]) expect(answeredIds.has(id)).toBe(true);
      expect(fuzzer.socket.readyState).toBe(1);
    });

    chatting = false;
    await chat;
    expect(acked.length).toBeGreaterThan(10);
    expect(acked).toEqual(acked.map((_, i) => i + 1));
    await waitUntil(() => bob.pushes('message', 'calm').length === acked.length);
    expect(bob.pushes('message', 'calm').map((f) => f.data.seq)).toEqual(acked);
    expect(bob.frames.filter((f) => f.event === 'error')).toHaveLength(0);

    // The process is alive, ready, and logged no error (no unhandled rejection, no stack).
    expect(server.child.exitCode).toBeNull();
    const port = new URL(url).port;
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    const errorLines = server.output.split('\n').filter((line) => /"level":(50|60)|Unhandled|unhandled/.test(line));
    expect(errorLines).toEqual([]);
    await Promise.all([alice, bob, ...fuzzers].map((client) => client.close()));
  });
});
