import { jest } from '@jest/globals';
import { Injectable, Module, type BeforeApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Database from 'better-sqlite3';
import { AppModule } from '../../src/app.module.js';
import { Authenticator } from '../../src/auth/authenticator.service.js';
import { GracefulShutdown } from '../../src/gateway/graceful-shutdown.service.js';
import { RealtimeWsAdapter } from '../../src/gateway/realtime-ws.adapter.js';
import { HttpErrorFilter } from '../../src/protocol/http-error.filter.js';
import { freshDatabase, type TestDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { SseClient } from '../support/sse-client.js';
import { rejectedUpgrade, TestClient } from '../support/test-client.js';
import { listening, serverVariables, startServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

/**
 * A host's own shutdown step that takes its time (flushing a queue of its
 * own, say): the host's root module runs its hooks of a phase before the
 * modules it imports, so while this one waits every `onModuleDestroy` has
 * run and no `beforeApplicationShutdown` of the realtime module has.
 */
@Injectable()
class SlowHostShutdown implements BeforeApplicationShutdown {
  private reach!: () => void;
  /** Resolves when the shutdown has come to this step. */
  readonly reached = new Promise<void>((resolve) => (this.reach = resolve));
  private finish!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.finish = resolve));

  async beforeApplicationShutdown(): Promise<void> {
    this.reach();
    await this.finished;
  }

  release(): void {
    this.finish();
  }
}

@Module({})
class HostWithSlowShutdown {}

async function startHostWithSlowShutdown(database: TestDatabase) {
  const app = await NestFactory.create(
    { module: HostWithSlowShutdown, imports: [await AppModule.register(serverVariables(database))], providers: [SlowHostShutdown] },
    { logger: false },
  );
  app.useWebSocketAdapter(new RealtimeWsAdapter(app));
  app.useGlobalFilters(new HttpErrorFilter());
  return { server: await listening(app), hostStep: app.get(SlowHostShutdown) };
}

/**
 * A shutdown in slow motion: another connection holds the SQLite file's write
 * lock, so a send is still in progress when the server starts to stop.
 */
describe('a graceful shutdown', () => {
  it('answers the frame in progress before closing with 1012, refuses new sockets (503) and new frames (UNAVAILABLE) meanwhile', async () => {
    const database = await freshDatabase('sqlite');
    const server = await startServer(database);
    const alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    await alice.ok('room.join', { room: 'drain' });

    const lock = new Database(database.sqlitePath!);
    lock.exec('BEGIN IMMEDIATE');
    const inFlight = alice.request('message.send', { room: 'drain', text: 'accepted before the signal', clientMsgId: 'd1' });
    await alice.settle(100);
    const closing = server.close();
    await alice.settle(100);

    expect((await rejectedUpgrade(server.wsUrl, { token: token('bob') })).status).toBe(503);
    const refused = await alice.request('ping');
    expect(refused).toMatchObject({ event: 'error', id: refused.id, data: { code: 'UNAVAILABLE', event: 'ping' } });

    lock.exec('COMMIT');
    lock.close();
    const ack = await inFlight;
    expect(ack).toMatchObject({ event: 'message.send', data: { seq: 1, duplicate: false } });
    expect(await alice.closed).toEqual({ code: 1012, reason: 'server restarting; reconnect and resume with since' });
    expect(alice.frames.indexOf(ack)).toBeGreaterThan(-1);
    await closing;

    const restarted = await startServer(database);
    const reader = await TestClient.connect(restarted.wsUrl, { token: token('reader') });
    expect((await reader.ok('history.fetch', { room: 'drain' })).messages.map((m: { text: string }) => m.text)).toEqual([
      'accepted before the signal',
    ]);
    await reader.close();
    await restarted.close();
  });

  it('refuses with 503 an upgrade whose token was being checked when the shutdown began', async () => {
    const server = await startServer(await freshDatabase('sqlite'), { SHUTDOWN_TIMEOUT_MS: '1500' });
    // A client that reads nothing keeps the shutdown waiting for its close, the WebSocket server still up.
    const stuck = await TestClient.connect(server.wsUrl, { token: token('stuck') });
    stuck.pauseReading();
    const authenticator = server.app.get(Authenticator);
    const check = authenticator.authenticate.bind(authenticator);
    const shutdown = server.app.get(GracefulShutdown);
    // A host's UserResolver that takes a while to answer: until the shutdown has begun.
    jest.spyOn(authenticator, 'authenticate').mockImplementation(async (...args) => {
      await waitUntil(() => shutdown.draining);
      return check(...args);
    });
    const upgrade = rejectedUpgrade(server.wsUrl, { token: token('late') });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = server.close();
    expect((await upgrade).status).toBe(503);
    await closing;
    stuck.socket.terminate();
  });

  it('refuses new sockets, streams, polls and HTTP sends (503) and new frames (UNAVAILABLE) from the first shutdown phase on, before anything stops', async () => {
    const database = await freshDatabase('sqlite');
    const { server, hostStep } = await startHostWithSlowShutdown(database);
    const alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    await alice.ok('room.join', { room: 'window' });
    const closing = server.close();
    // Every onModuleDestroy has run (the phase where Nest begins a shutdown), and none of the stop steps after it.
    await hostStep.reached;
    try {
      expect((await rejectedUpgrade(server.wsUrl, { token: token('bob') })).status).toBe(503);
      const stream = await SseClient.open(server.httpUrl, '/rooms/window/events', { token: token('carol') });
      // Before waiting for its end: an accepted stream would not end.
      expect(stream.status).toBe(503);
      await stream.ended;
      expect(stream.body).toMatchObject({ code: 'UNAVAILABLE' });
      const poll = await http(server.httpUrl, 'GET', '/rooms/window/poll?after=0&timeout=60', { token: token('dave') });
      expect([poll.status, poll.body]).toEqual([503, expect.objectContaining({ code: 'UNAVAILABLE' })]);
      // The HTTP send as the poll: 503 with the same body, nothing stored; the client resends elsewhere with its clientMsgId.
      const post = await http(server.httpUrl, 'POST', '/rooms/window/messages', { token: token('erin'), body: { text: 'too late', clientMsgId: 'h1' } });
      expect(post).toEqual({ status: 503, body: { statusCode: 503, code: 'UNAVAILABLE', message: 'the server is restarting; send to another node' } });
      expect(Object.keys(post.body).sort()).toEqual(Object.keys(poll.body).sort());
      const publish = await http(server.httpUrl, 'POST', '/admin/rooms/window/messages', { token: token('root'), body: { text: 'too late', clientMsgId: 'a1' } });
      expect(publish).toEqual(post);
      const refused = await alice.request('message.send', { room: 'window', text: 'too late', clientMsgId: 'w1' });
      expect(refused).toMatchObject({ event: 'error', id: refused.id, data: { code: 'UNAVAILABLE', event: 'message.send' } });
    } finally {
      hostStep.release();
    }
    expect(await alice.closed).toEqual({ code: 1012, reason: 'server restarting; reconnect and resume with since' });
    await closing;

    const restarted = await startServer(database);
    expect(await http(restarted.httpUrl, 'GET', '/rooms/window/messages', { token: token('reader') })).toEqual({
      status: 200,
      body: { room: 'window', messages: [], hasMore: false },
    });
    await restarted.close();
  });
});
