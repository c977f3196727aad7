import { Controller, Get, Injectable, Module, ValidationPipe, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { DataSource } from 'typeorm';
import {
  BrokerHealthIndicator,
  DatabaseHealthIndicator,
  HealthModule,
  RealtimeEvents,
  RealtimeHealthIndicatorsModule,
  RealtimeModule,
  RealtimePublisher,
  RealtimeWsAdapter,
  UserResolver,
  realtimeEntities,
  realtimeMigrations,
  type AuthenticatedUser,
  type RealtimeModuleExtras,
  type RealtimeModuleAsyncOptions,
  type RealtimeModuleOptions,
  type RealtimeOptionsFactory,
  type TokenClaims,
} from '../../src/index.js';
import { CreateOrders1700000000000, HostAppModule, Order, RealtimeEventLog } from '../host-app/host-app.module.js';
import { describeEachDatabase, freshDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { rejectedUpgrade, TestClient } from '../support/test-client.js';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

/** RealtimeModule as a host imports it with a SQLite file of its own, the test tokens' settings and `root` an admin. */
async function realtimeOnOwnSqliteFile(extras: Partial<RealtimeModuleOptions> & RealtimeModuleExtras = {}) {
  const { sqlitePath } = await freshDatabase('sqlite');
  return RealtimeModule.forRoot({
    database: { type: 'sqlite', path: sqlitePath! },
    auth: { secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE },
    authorization: { bootstrapAdmins: ['root'] },
    ...extras,
  });
}

/** Starts a host app as its main.ts would (`configure`, then `beforeListen`, before it listens), hands `use` its URLs, and closes it. */
async function withHostApp(
  hostModule: Type,
  use: (started: { app: INestApplication; httpUrl: string; wsUrl: string }) => Promise<void>,
  configure?: (app: INestApplication) => void,
  beforeListen?: (app: INestApplication) => Promise<unknown>,
): Promise<void> {
  const app = await NestFactory.create(hostModule, { logger: false, abortOnError: false });
  app.useWebSocketAdapter(new RealtimeWsAdapter(app));
  configure?.(app);
  await beforeListen?.(app);
  await app.listen(0, '127.0.0.1');
  try {
    const { port } = app.getHttpServer().address() as AddressInfo;
    await use({ app, httpUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws` });
  } finally {
    await app.close();
  }
}

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
    expect(applied.map((m) => m.name)).toEqual([CreateOrders1700000000000.name, ...realtimeMigrations.map((m) => m.name)]);
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

  it('lets host code hear about edits, deletions, closed sockets and role and assignment changes', async () => {
    const log = app.get(RealtimeEventLog);
    log.others.length = 0;
    const carol = await TestClient.connect(wsUrl, { token: token('carol') });
    const { seq } = await carol.ok('message.send', { room: 'events', text: 'draft', clientMsgId: 'c1' });
    await carol.ok('message.edit', { room: 'events', seq, text: 'final' });
    await carol.ok('message.delete', { room: 'events', seq });
    const admin = (method: string, path: string, body?: unknown) => http(httpUrl, method, path, { token: token('root'), body });
    expect((await admin('POST', '/admin/roles', { name: 'auditor', permissions: ['history.read'] })).status).toBe(201);
    expect((await admin('PUT', '/admin/users/carol/roles/auditor')).status).toBe(201);
    expect((await admin('DELETE', '/admin/users/carol/roles/auditor')).status).toBe(200);
    await carol.close();
    await waitUntil(() => log.others.some(([event]) => event === RealtimeEvents.SOCKET_CLOSED));

    expect(log.others).toEqual([
      [RealtimeEvents.MESSAGE_EDITED, { tenantId: '', room: 'events', seq, text: 'final', editedAt: expect.any(String), editedBy: 'carol' }],
      [RealtimeEvents.MESSAGE_DELETED, { tenantId: '', room: 'events', seq, deletedBy: 'carol' }],
      [RealtimeEvents.ROLE_CHANGED, { tenantId: '', role: 'auditor', change: 'created', actorId: 'root' }],
      [RealtimeEvents.ASSIGNMENT_CHANGED, { tenantId: '', userId: 'carol', role: 'auditor', scope: '*', change: 'granted', actorId: 'root' }],
      [RealtimeEvents.ASSIGNMENT_CHANGED, { tenantId: '', userId: 'carol', role: 'auditor', scope: null, change: 'revoked', actorId: 'root' }],
      // The test client's close frame carries no status code: 1005.
      [RealtimeEvents.SOCKET_CLOSED, { connectionId: expect.any(String), userId: 'carol', tenantId: '', code: 1005 }],
    ]);
  });

  it('keeps acknowledged messages when a host transaction rolls back meanwhile', async () => {
    const dataSource = app.get(DataSource);
    const publisher = app.get(RealtimePublisher);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const hostTransaction = dataSource
      .transaction(async (manager) => {
        await manager.insert(Order, { item: 'never', notifiedSeq: null });
        await held;
        throw new Error('the host changes its mind');
      })
      .catch((error: Error) => error.message);
    // On SQLite the module's write waits for the host's lock; on PostgreSQL it goes ahead.
    const publishing = publisher.publish('ledger', { text: 'acknowledged' });
    setTimeout(release, 200);
    const ack = await publishing;
    expect(await hostTransaction).toBe('the host changes its mind');
    expect((await publisher.publish('ledger', { text: 'next' })).seq).toBe(ack.seq + 1);
    const stored = (await dataSource.query('SELECT seq, text FROM switchboard_messages m JOIN switchboard_rooms r ON r.id = m.room_id WHERE r.name = $1 ORDER BY seq'.replace('$1', "'ledger'"))) as Array<{ seq: number | string; text: string }>;
    expect(stored.map((row) => [Number(row.seq), row.text])).toEqual([
      [1, 'acknowledged'],
      [2, 'next'],
    ]);
    expect(await dataSource.getRepository(Order).countBy({ item: 'never' })).toBe(0);
  });

  it('serves a gateway of the host on its own path, beside the module', async () => {
    const echo = new WebSocket(wsUrl.replace(/\/ws$/, '/host-echo'));
    await new Promise((resolve, reject) => echo.once('open', resolve).once('error', reject));
    const reply = new Promise<string>((resolve) => echo.once('message', (data) => resolve(String(data))));
    echo.send(JSON.stringify({ event: 'echo', data: { n: 1 } }));
    expect(JSON.parse(await reply)).toEqual({ event: 'echoed', data: { n: 1 } });
    echo.close();
    // The module's path still authenticates and speaks the protocol.
    expect((await rejectedUpgrade(wsUrl, {})).status).toBe(401);
    const dave = await TestClient.connect(wsUrl, { token: token('dave') });
    expect(await dave.ok('room.join', { room: 'echoes' })).toEqual({ room: 'echoes', lastSeq: 0 });
    await dave.close();
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

describe('a host app importing RealtimeModule.forRoot, with the module on its own SQLite file', () => {
  it('migrates the file, and serves sockets and the admin API', async () => {
    @Module({ imports: [await realtimeOnOwnSqliteFile()] })
    class PlainHostModule {}
    await withHostApp(PlainHostModule, async ({ app, httpUrl, wsUrl }) => {
      const alice = await TestClient.connect(wsUrl, { token: token('alice') });
      expect(await alice.ok('room.join', { room: 'plain' })).toEqual({ room: 'plain', lastSeq: 0 });
      expect(await alice.ok('message.send', { room: 'plain', text: 'hi', clientMsgId: 'p1' })).toMatchObject({ seq: 1, duplicate: false });
      expect((await alice.nextPush('message', 'plain')).data).toMatchObject({ seq: 1, text: 'hi' });

      // A host publish names the tenant of the room: acme's `plain` is not the tenantless one.
      const acme = await TestClient.connect(wsUrl, { token: token('ann', { tid: 'acme' }) });
      await acme.ok('room.join', { room: 'plain' });
      const publisher = app.get(RealtimePublisher);
      expect(await publisher.publish('plain', { text: 'for acme' }, { tid: 'acme' })).toMatchObject({ seq: 1, duplicate: false });
      expect((await acme.nextPush('message', 'plain')).data).toMatchObject({ seq: 1, text: 'for acme', sender: { id: 'system' } });
      expect(await publisher.publish('plain', { text: 'for everyone else' })).toMatchObject({ seq: 2 });
      expect((await alice.nextPush('message', 'plain')).data).toMatchObject({ seq: 2, text: 'for everyone else' });
      expect(acme.frames.filter((f) => f.event === 'message').map((f) => f.data.text)).toEqual(['for acme']);
      await alice.close();
      await acme.close();
      const roles = await http(httpUrl, 'GET', '/admin/roles', { token: token('root') });
      expect(roles.body.map((r: { name: string }) => r.name)).toEqual(['admin', 'member', 'moderator', 'viewer']);
    });
  });
});

describe('a host app importing RealtimeModule.forRoot with a user resolver that injects a service of its own', () => {
  it('creates the resolver with the modules it names', async () => {
    @Injectable()
    class StaffDirectory {
      nameOf(id: string): string | undefined {
        return id === 'erin' ? 'Erin (staff)' : undefined;
      }
    }
    @Module({ providers: [StaffDirectory], exports: [StaffDirectory] })
    class StaffModule {}
    @Injectable()
    class StaffUserResolver extends UserResolver {
      constructor(private readonly staff: StaffDirectory) {
        super();
      }
      resolve(claims: TokenClaims): AuthenticatedUser | null {
        const name = this.staff.nameOf(claims.sub);
        return name ? { id: claims.sub, name, tenantId: claims.tid ?? '', expiresAt: claims.exp } : null;
      }
    }
    @Module({ imports: [await realtimeOnOwnSqliteFile({ imports: [StaffModule], userResolver: StaffUserResolver })] })
    class StaffHostModule {}
    await withHostApp(StaffHostModule, async ({ wsUrl }) => {
      expect((await rejectedUpgrade(wsUrl, { token: token('mallory') })).status).toBe(401);
      const erin = await TestClient.connect(wsUrl, { token: token('erin') });
      await erin.ok('room.join', { room: 'staff' });
      await erin.ok('message.send', { room: 'staff', text: 'hi', clientMsgId: 'e1' });
      expect((await erin.nextPush('message', 'staff')).data.sender).toEqual({ id: 'erin', name: 'Erin (staff)' });
      await erin.close();
    });
  });
});

describe('a host app with health routes', () => {
  it("serves the module's, or checks the module's storage and broker in its own", async () => {
    @Controller('status')
    class StatusController {
      constructor(
        private readonly health: HealthCheckService,
        private readonly database: DatabaseHealthIndicator,
        private readonly broker: BrokerHealthIndicator,
      ) {}
      @Get()
      @HealthCheck()
      status() {
        return this.health.check([() => this.database.check('realtime-database', 2000), () => this.broker.check('realtime-broker', 2000)]);
      }
    }
    @Module({
      imports: [await realtimeOnOwnSqliteFile(), TerminusModule.forRoot({ logger: false }), RealtimeHealthIndicatorsModule, HealthModule],
      controllers: [StatusController],
    })
    class HealthyHostModule {}
    await withHostApp(HealthyHostModule, async ({ httpUrl: url }) => {
      expect(await http(url, 'GET', '/health/ready')).toMatchObject({ status: 200, body: { status: 'ok', info: { database: { status: 'up' }, broker: { status: 'up' } } } });
      expect(await http(url, 'GET', '/status')).toMatchObject({
        status: 200,
        body: { status: 'ok', info: { 'realtime-database': { status: 'up' }, 'realtime-broker': { status: 'up' } } },
      });
    });
  });
});

describe('a host app with a global ValidationPipe of its own', () => {
  it('serves the query routes as without it', async () => {
    @Module({ imports: [await realtimeOnOwnSqliteFile()] })
    class ValidatingHostModule {}
    // What Nest's documentation recommends, and many hosts have: its transform runs before the module's pipe.
    const withValidation = (app: INestApplication) => app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
    await withHostApp(ValidatingHostModule, async ({ httpUrl: url }) => {
      const root = token('root');
      expect((await http(url, 'POST', '/rooms/checked/messages', { token: root, body: { text: 'hi', clientMsgId: 'v1' } })).status).toBe(201);
      const page = await http(url, 'GET', '/rooms/checked/messages?after=0&limit=5', { token: root });
      expect(page).toMatchObject({ status: 200, body: { room: 'checked', hasMore: false } });
      expect(page.body.messages.map((m: { text: string }) => m.text)).toEqual(['hi']);
      expect((await http(url, 'GET', '/rooms/checked/poll?after=0&timeout=1', { token: root })).status).toBe(200);
      // The routes that take the token in the query, for clients that cannot set a header (EventSource).
      expect((await http(url, 'GET', `/rooms/checked/messages?limit=5&access_token=${root}`)).status).toBe(200);
      expect((await http(url, 'GET', `/rooms/checked/poll?after=0&timeout=1&access_token=${root}`)).status).toBe(200);
      expect((await http(url, 'GET', '/admin/rooms?limit=10', { token: root })).status).toBe(200);
      expect((await http(url, 'GET', '/admin/audit?limit=2', { token: root })).status).toBe(200);
      expect((await http(url, 'PUT', '/admin/users/bob/roles/viewer', { token: root, body: { scope: 'checked' } })).status).toBe(201);
      expect((await http(url, 'DELETE', '/admin/users/bob/roles/viewer?scope=checked', { token: root })).status).toBe(200);
      // A list is still refused, by whichever pipe sees it first.
      expect((await http(url, 'GET', '/rooms/checked/messages?after=0&after=1', { token: root })).status).toBe(400);
    }, withValidation);
  });
});

describe('a host app that shares its DataSource without the module migrations', () => {
  async function sharingHostModule(migrations: Function[]) {
    const { sqlitePath } = await freshDatabase('sqlite');
    @Module({
      imports: [
        // synchronize makes the tables, not the seeded roles: only the migrations do both.
        TypeOrmModule.forRoot({ type: 'better-sqlite3', database: sqlitePath!, entities: [Order, ...realtimeEntities], migrations, synchronize: migrations.length === 0 }),
        RealtimeModule.forRootAsync({
          inject: [DataSource],
          useFactory: (dataSource: DataSource) => ({ database: { dataSource }, auth: { secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE } }),
        }),
      ],
    })
    class SharingHostModule {}
    return SharingHostModule;
  }

  it('does not start, and says what to add', async () => {
    const app = await NestFactory.create(await sharingHostModule([]), { logger: false, abortOnError: false });
    await expect(app.init()).rejects.toThrow(
      `RealtimeModule: the host's DataSource has not run ${realtimeMigrations.map((migration) => migration.name).join(', ')}: add realtimeMigrations to its migrations`,
    );
    await app.close();
  });

  it('starts when the host runs them after creating the app, before it listens', async () => {
    await withHostApp(await sharingHostModule([CreateOrders1700000000000, ...realtimeMigrations]), async ({ wsUrl }) => {
      const alice = await TestClient.connect(wsUrl, { token: token('alice') });
      expect(await alice.ok('room.join', { room: 'late' })).toEqual({ room: 'late', lastSeq: 0 });
      await alice.close();
    }, undefined, (app) => app.get(DataSource).runMigrations());
  });
});

describe("a host app's own gateway and the module's path", () => {
  it('stops the start when a gateway names the same path, however it is written', async () => {
    @WebSocketGateway({ path: '/realtime//ws/' })
    class ClashingGateway {
      @SubscribeMessage('echo')
      echo(@MessageBody() data: unknown) {
        return data;
      }
    }
    @Module({ imports: [await realtimeOnOwnSqliteFile({ websocket: { path: '/realtime/ws' } })], providers: [ClashingGateway] })
    class ClashingHostModule {}
    const app = await NestFactory.create(ClashingHostModule, { logger: false, abortOnError: false });
    app.useWebSocketAdapter(new RealtimeWsAdapter(app));
    await expect(app.init()).rejects.toThrow("RealtimeWsAdapter: the gateway path /realtime//ws/ is the realtime module's (websocket.path)");
    await app.close();
  });

  it('says once, as an error, that a gateway without a path shares the sockets of the module', async () => {
    @WebSocketGateway()
    class PathlessGateway {
      @SubscribeMessage('echo')
      echo(@MessageBody() data: unknown) {
        return data;
      }
    }
    @Module({ imports: [await realtimeOnOwnSqliteFile()], providers: [PathlessGateway] })
    class PathlessHostModule {}
    const errors: string[] = [];
    const quiet = () => undefined;
    const app = await NestFactory.create(PathlessHostModule, {
      logger: { log: quiet, warn: quiet, debug: quiet, verbose: quiet, error: (message: unknown) => errors.push(String(message)) },
      abortOnError: false,
    });
    app.useWebSocketAdapter(new RealtimeWsAdapter(app));
    await app.listen(0, '127.0.0.1');
    try {
      const { port } = app.getHttpServer().address() as AddressInfo;
      const sockets = [await TestClient.connect(`ws://127.0.0.1:${port}/ws`, { token: token('alice') }), await TestClient.connect(`ws://127.0.0.1:${port}/ws`, { token: token('bob') })];
      await waitUntil(() => errors.length > 0);
      expect(errors).toEqual(["a gateway of the app shares the realtime module's path (/ws): give it a path of its own, @WebSocketGateway({ path })"]);
      await Promise.all(sockets.map((socket) => socket.close()));
    } finally {
      await app.close();
    }
  });
});

describe('a host app making the options with a class of its own', () => {
  /** The host's configuration: which file the module's database is in. */
  let databaseFile = '';
  @Injectable()
  class DatabaseFiles {
    realtime = () => databaseFile;
  }
  @Module({ providers: [DatabaseFiles], exports: [DatabaseFiles] })
  class FilesModule {}
  @Injectable()
  class RealtimeSettings implements RealtimeOptionsFactory {
    constructor(private readonly files: DatabaseFiles) {}
    createRealtimeOptions() {
      return {
        database: { type: 'sqlite' as const, path: this.files.realtime() },
        auth: { secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE },
        websocket: { path: '/live' },
      };
    }
  }
  @Module({ imports: [FilesModule], providers: [RealtimeSettings], exports: [RealtimeSettings] })
  class SettingsModule {}

  const cases: Array<[string, RealtimeModuleAsyncOptions]> = [
    ['useClass: the module creates it with the modules it names', { useClass: RealtimeSettings, imports: [FilesModule] }],
    ['useExisting: the host provides it', { useExisting: RealtimeSettings, imports: [SettingsModule] }],
  ];
  it('says what it needs when given none of the three', () => {
    expect(() => RealtimeModule.forRootAsync({ imports: [SettingsModule] } as unknown as RealtimeModuleAsyncOptions)).toThrow(
      'RealtimeModule.forRootAsync needs useFactory, useClass or useExisting',
    );
  });

  it.each(cases)('%s', async (_case, asyncOptions) => {
    databaseFile = (await freshDatabase('sqlite')).sqlitePath!;
    @Module({ imports: [RealtimeModule.forRootAsync(asyncOptions)] })
    class SettingsHostModule {}
    await withHostApp(SettingsHostModule, async ({ httpUrl }) => {
      const alice = await TestClient.connect(`${httpUrl.replace('http', 'ws')}/live`, { token: token('alice') });
      expect(await alice.ok('room.join', { room: 'settings' })).toEqual({ room: 'settings', lastSeq: 0 });
      await alice.close();
    });
  });
});
