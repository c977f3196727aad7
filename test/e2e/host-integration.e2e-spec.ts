import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { RealtimeWsAdapter } from '../../src/index.js';
import { CreateOrders1700000000000, HostAppModule, RealtimeEventLog } from '../host-app/host-app.module.js';
import { describeEachDatabase, freshDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { rejectedUpgrade, TestClient } from '../support/test-client.js';
import { token } from '../support/tokens.js';

describeEachDatabase('a host app embedding the module on its own DataSource', (kind) => {
  let app: INestApplication;
  let httpUrl: string;
  let wsUrl: string;

  beforeAll(async () => {
    app = await NestFactory.create(HostAppModule.register(await freshDatabase(kind)), { logger: false });
    app.useWebSocketAdapter(new RealtimeWsAdapter(app));
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    httpUrl = `http://127.0.0.1:${port}`;
    wsUrl = `ws://127.0.0.1:${port}/ws`;
  });
  afterAll(async () => {
    await app.close();
  });

  it('runs the host migrations and the module migrations on one database', async () => {
    const dataSource = app.get(DataSource);
    const applied = (await dataSource.query('SELECT name FROM migrations ORDER BY id')) as Array<{ name: string }>;
    expect(applied.map((m) => m.name)).toEqual([CreateOrders1700000000000.name, 'CreateRealtimeTables1763800000000']);
    const roles = (await dataSource.query('SELECT name FROM switchboard_roles ORDER BY name')) as Array<{ name: string }>;
    expect(roles.map((r) => r.name)).toEqual(['admin', 'member', 'moderator', 'viewer']);
  });

  it('lets host services publish into rooms, and host code hear about messages and sockets', async () => {
    const alice = await TestClient.connect(wsUrl, { token: token('alice') });
    await alice.ok('room.join', { room: 'orders' });
    const placed = await http(httpUrl, 'POST', '/orders', { body: { item: 'coffee' } });
    expect(placed.status).toBe(201);
    expect(placed.body).toEqual({ id: 1, item: 'coffee', notifiedSeq: 1 });
    const pushed = await alice.nextPush('message', 'orders');
    expect(pushed.data).toMatchObject({ seq: 1, sender: { id: 'system', name: 'System' }, payload: { orderId: 1, item: 'coffee' } });

    const sent = await alice.ok('message.send', { room: 'orders', text: 'thanks', clientMsgId: 'a1' });
    const log = app.get(RealtimeEventLog);
    expect(log.sockets).toContain('alice');
    expect(log.messages.map((m) => [m.message.seq, m.message.sender.id])).toEqual([
      [1, 'system'],
      [sent.seq, 'alice'],
    ]);
    // The module's tables are plain tables of the host's database.
    const [row] = (await app.get(DataSource).query('SELECT COUNT(*) AS count FROM switchboard_messages')) as Array<{ count: string | number }>;
    expect(Number(row.count)).toBe(2);
    await alice.close();
  });

  it('uses the host user resolver for sockets and REST', async () => {
    const bob = await TestClient.connect(wsUrl, { token: token('bob') });
    await bob.ok('room.join', { room: 'hall' });
    await bob.ok('message.send', { room: 'hall', text: 'hi', clientMsgId: 'b1' });
    expect((await bob.nextPush('message', 'hall')).data.sender).toEqual({ id: 'bob', name: 'BOB (directory)' });
    expect((await rejectedUpgrade(wsUrl, { token: token('former-employee') })).status).toBe(401);
    expect((await http(httpUrl, 'GET', '/admin/roles', { token: token('root') })).status).toBe(200);
    await bob.close();
  });
});
