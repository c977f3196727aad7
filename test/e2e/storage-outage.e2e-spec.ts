import { EventEmitter2 } from '@nestjs/event-emitter';
import Database from 'better-sqlite3';
import { RealtimeEvents, type MessageEventPayload } from '../../src/events/realtime-events.js';
import { READINESS_ANSWER_FRESH_FOR_MS } from '../../src/health/shared-probe.js';
import { freshDatabase, type TestDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { describeNeeding, postgresMissing } from '../support/requirements.js';
import { findPostgresBinaries, pausePostgres, resumePostgres, startPostgres, stopPostgres, type PostgresServer } from '../support/postgres-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { TestClient } from '../support/test-client.js';
import { startServer, type TestServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';

/** A PostgreSQL cluster of its own, stopped and started again under a running server. */
describeNeeding('a storage outage [postgres]', postgresMissing(), () => {
  let postgres: PostgresServer;
  let proxy: TcpProxy;
  let server: TestServer;

  beforeAll(async () => {
    // describeNeeding runs this only where global-setup found PostgreSQL.
    postgres = await startPostgres(findPostgresBinaries()!);
    // The server reaches PostgreSQL through a proxy that can also make it hang rather than refuse.
    proxy = await startTcpProxy(postgres.port);
    server = await startServer(
      { kind: 'postgres', variables: { DATABASE_URL: postgres.url.replace(`:${postgres.port}/`, `:${proxy.port}/`) } },
      { DATABASE_STATEMENT_TIMEOUT_MS: '1000' },
    );
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    if (postgres) stopPostgres(postgres);
  });

  it('answers UNAVAILABLE (nothing stored, nothing delivered), reports not ready, keeps serving, and recovers by itself', async () => {
    const alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    const bob = await TestClient.connect(server.wsUrl, { token: token('bob') });
    await bob.ok('room.join', { room: 'ops' });
    expect((await alice.ok('message.send', { room: 'ops', text: 'before', clientMsgId: 'o1' })).seq).toBe(1);
    await bob.nextPush('message', 'ops');

    pausePostgres(postgres);
    const refused = await alice.error('message.send', { room: 'ops', text: 'during', clientMsgId: 'o2' });
    expect(refused).toMatchObject({ code: 'UNAVAILABLE', event: 'message.send' });
    expect((await alice.error('history.fetch', { room: 'ops' })).code).toBe('UNAVAILABLE');
    const ready = await http(server.httpUrl, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.database.status).toBe('down');
    expect((await http(server.httpUrl, 'GET', '/admin/audit', { token: token('root') })).status).toBe(503);
    // What needs no database still works.
    expect((await alice.request('ping')).event).toBe('pong');
    expect((await bob.ok('presence.list', { room: 'ops' })).users).toHaveLength(1);

    resumePostgres(postgres);
    let ack: { seq: number } | undefined;
    for (const deadline = Date.now() + 15_000; !ack && Date.now() < deadline; ) {
      const frame = await alice.request('message.send', { room: 'ops', text: 'after', clientMsgId: 'o3' });
      if (frame.event === 'message.send') ack = frame.data;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(ack?.seq).toBe(2);
    expect((await bob.nextPush('message', 'ops')).data).toMatchObject({ seq: 2, text: 'after' });
    await bob.settle();
    expect(bob.pushes('message', 'ops').map((f) => f.data.text)).toEqual(['before', 'after']);
    // The outage's "down" is reused for the freshness window after its ping; the next ping finds the database back.
    await new Promise((resolve) => setTimeout(resolve, READINESS_ANSWER_FRESH_FOR_MS));
    expect((await http(server.httpUrl, 'GET', '/health/ready')).status).toBe(200);
    expect((await alice.ok('history.fetch', { room: 'ops' })).messages.map((m: { text: string }) => m.text)).toEqual(['before', 'after']);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('answers UNAVAILABLE within the statement timeout when the database hangs instead of refusing, and recovers', async () => {
    const alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    const bob = await TestClient.connect(server.wsUrl, { token: token('bob') });
    await bob.ok('room.join', { room: 'frozen' });
    expect((await alice.ok('message.send', { room: 'frozen', text: 'before', clientMsgId: 'f1' })).seq).toBe(1);

    proxy.hang();
    const started = Date.now();
    const refused = await alice.error('message.send', { room: 'frozen', text: 'during', clientMsgId: 'f2' });
    expect(refused.code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await http(server.httpUrl, 'GET', '/health/ready')).status).toBe(503);
    expect((await alice.request('ping')).event).toBe('pong');

    proxy.resume();
    let ack: { seq: number; duplicate: boolean } | undefined;
    for (const deadline = Date.now() + 15_000; !ack && Date.now() < deadline; ) {
      // The refused send is resent with its clientMsgId: whether or not it got stored, it is stored once.
      const frame = await alice.request('message.send', { room: 'frozen', text: 'during', clientMsgId: 'f2' });
      if (frame.event === 'message.send') ack = frame.data;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(ack?.seq).toBe(2);
    await bob.next((f) => f.event === 'message' && f.data.seq === 2);
    expect((await alice.ok('history.fetch', { room: 'frozen' })).messages.map((m: { text: string }) => m.text)).toEqual(['before', 'during']);
    await Promise.all([alice.close(), bob.close()]);
  });

  /** The `seq`s of a room's messages host code hears of (`realtime.message.created`), from now on. */
  function hostNews(room: string): number[] {
    const heard: number[] = [];
    server.app.get(EventEmitter2).on(RealtimeEvents.MESSAGE_CREATED, ({ message }: MessageEventPayload) => {
      if (message.room === room) heard.push(message.seq);
    });
    return heard;
  }

  it('delivers a message whose commit happened though its answer was lost, without a resend', async () => {
    const alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    const bob = await TestClient.connect(server.wsUrl, { token: token('bob') });
    await bob.ok('room.join', { room: 'quiet' });
    const news = hostNews('quiet');
    // The statement reaches PostgreSQL and commits; its answer never comes back in time.
    proxy.hangReplies();
    try {
      expect((await alice.error('message.send', { room: 'quiet', text: 'stored after all', clientMsgId: 'q1' })).code).toBe('UNAVAILABLE');
    } finally {
      proxy.resume();
    }
    // Nothing else is sent in the room, and alice does not resend: bob gets it all the same.
    const delivered = await bob.next((f) => f.event === 'message' && f.data.room === 'quiet', 15_000);
    expect(delivered.data).toMatchObject({ seq: 1, text: 'stored after all', clientMsgId: 'q1' });
    await bob.settle(300);
    expect(bob.pushes('message', 'quiet')).toHaveLength(1);
    expect(news).toEqual([1]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('tells host code once of a message whose commit happened though its answer was lost, when the sender resends it at once', async () => {
    const alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    const bob = await TestClient.connect(server.wsUrl, { token: token('bob') });
    await bob.ok('room.join', { room: 'resent' });
    const news = hostNews('resent');
    proxy.hangReplies();
    try {
      expect((await alice.error('message.send', { room: 'resent', text: 'stored after all', clientMsgId: 'r1' })).code).toBe('UNAVAILABLE');
    } finally {
      proxy.resume();
    }
    // Resent before the server looks for it: the resend finds the original.
    const resent = await alice.ok('message.send', { room: 'resent', text: 'stored after all', clientMsgId: 'r1' });
    expect(resent).toMatchObject({ seq: 1, duplicate: true });
    expect((await bob.nextPush('message', 'resent')).data).toMatchObject({ seq: 1, clientMsgId: 'r1' });
    // Past the server's first look for it.
    await bob.settle(1500);
    expect(bob.pushes('message', 'resent')).toHaveLength(1);
    expect(news).toEqual([1]);
    await Promise.all([alice.close(), bob.close()]);
  });
});

/**
 * SQLite: another process holds the file's write lock (a backup, a migration
 * CLI, an operator's sqlite3 shell) for longer than a send waits for it.
 */
describe.each([
  ['commits on the writer thread', 'true'],
  ['commits on the event loop', 'false'],
])('a storage outage [sqlite, %s]', (_, writerThread) => {
  let database: TestDatabase;
  let server: TestServer;
  let operator: Database.Database;

  beforeAll(async () => {
    database = await freshDatabase('sqlite');
    server = await startServer(database, { DATABASE_WRITER_THREAD: writerThread });
    operator = new Database(database.sqlitePath!);
  });
  afterAll(async () => {
    operator?.close();
    await server?.close();
  });

  it('answers UNAVAILABLE while the file is locked (nothing stored, nothing delivered), keeps serving, and recovers when the lock goes', async () => {
    const alice = await TestClient.connect(server.wsUrl, { token: token('alice') });
    const bob = await TestClient.connect(server.wsUrl, { token: token('bob') });
    await bob.ok('room.join', { room: 'ops' });
    expect((await alice.ok('message.send', { room: 'ops', text: 'before', clientMsgId: 'l1' })).seq).toBe(1);

    operator.exec('BEGIN IMMEDIATE');
    // Refused once the writer has waited its 5 s for the lock.
    const refused = alice.error('message.send', { room: 'ops', text: 'during', clientMsgId: 'l2' }, 15_000);
    // The send waits for the lock without blocking the event loop: the sockets keep answering meanwhile.
    expect((await alice.request('ping')).event).toBe('pong');
    expect((await bob.ok('history.fetch', { room: 'ops' })).messages).toHaveLength(1);
    expect(await refused).toMatchObject({ code: 'UNAVAILABLE', event: 'message.send' });
    operator.exec('ROLLBACK');

    expect((await alice.ok('message.send', { room: 'ops', text: 'after', clientMsgId: 'l3' })).seq).toBe(2);
    await bob.next((f) => f.event === 'message' && f.data.seq === 2);
    await bob.settle();
    expect(bob.pushes('message', 'ops').map((f) => f.data.text)).toEqual(['before', 'after']);
    expect((await alice.ok('history.fetch', { room: 'ops' })).messages.map((m: { text: string }) => m.text)).toEqual(['before', 'after']);
    await Promise.all([alice.close(), bob.close()]);
  });
});
