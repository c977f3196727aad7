import { jest } from '@jest/globals';
import Database from 'better-sqlite3';
import { Authenticator } from '../../src/auth/authenticator.service.js';
import { GracefulShutdown } from '../../src/gateway/graceful-shutdown.service.js';
import { freshDatabase } from '../support/databases.js';
import { rejectedUpgrade, TestClient } from '../support/test-client.js';
import { startServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

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
});
