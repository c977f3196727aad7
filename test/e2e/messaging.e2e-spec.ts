import { describeEachDatabase, freshDatabase, type TestDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { TestClient } from '../support/test-client.js';
import { startServer, type TestServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';

describeEachDatabase('messaging', (kind) => {
  let database: TestDatabase;
  let server: TestServer;
  const clients: TestClient[] = [];
  const connect = async (sub: string, name?: string) => {
    const client = await TestClient.connect(server.wsUrl, { token: token(sub, { name }) });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    database = await freshDatabase(kind);
    server = await startServer(database);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await server.close();
  });

  it('delivers a message from one user to another, acked after storage with increasing seq', async () => {
    const alice = await connect('alice', 'Alice');
    const bob = await connect('bob', 'Bob');
    expect(await alice.ok('room.join', { room: 'general' })).toEqual({ room: 'general', lastSeq: 0 });
    expect(await bob.ok('room.join', { room: 'general' })).toEqual({ room: 'general', lastSeq: 0 });

    const ack = await alice.ok('message.send', { room: 'general', text: 'hello bob', clientMsgId: 'm-1' });
    expect(ack).toEqual({
      room: 'general',
      seq: 1,
      messageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      duplicate: false,
    });
    const received = await bob.nextPush('message', 'general');
    expect(received.data).toEqual({
      room: 'general',
      seq: 1,
      messageId: ack.messageId,
      clientMsgId: 'm-1',
      sender: { id: 'alice', name: 'Alice' },
      text: 'hello bob',
      sentAt: ack.sentAt,
    });

    const second = await bob.ok('message.send', { room: 'general', payload: { price: 101.5, tags: ['a'] }, clientMsgId: 'm-1' });
    expect(second.seq).toBe(2);
    expect((await alice.nextPush('message', 'general')).data.seq).toBe(1);
    const pushed = await alice.nextPush('message', 'general');
    expect(pushed.data).toMatchObject({ seq: 2, payload: { price: 101.5, tags: ['a'] }, sender: { id: 'bob', name: 'Bob' } });
    expect(pushed.data.text).toBeUndefined();
  });
});
