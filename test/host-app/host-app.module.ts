import { Body, Controller, Injectable, Module, Post, type DynamicModule } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Column, DataSource, Entity, PrimaryGeneratedColumn, Table, type MigrationInterface, type QueryRunner, type Repository } from 'typeorm';
import {
  RealtimeEvents,
  RealtimeModule,
  RealtimePublisher,
  UserResolver,
  realtimeEntities,
  realtimeMigrations,
  type AssignmentChangedEventPayload,
  type AuthenticatedUser,
  type ClusterOptions,
  type MessageDeletedEventPayload,
  type MessageEditedEventPayload,
  type MessageEventPayload,
  type RealtimeEventPayloads,
  type RoleChangedEventPayload,
  type SocketEventPayload,
  type TokenClaims,
} from '../../src/index.js';
import type { TestDatabase } from '../support/databases.js';
import { TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET } from '../support/tokens.js';

/** A host app of its own: an `orders` table, its own migration, its own services. */
@Entity({ name: 'orders' })
export class Order {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 100 })
  item!: string;

  /** The seq of the realtime notification about this order. */
  @Column({ name: 'notified_seq', type: 'integer', nullable: true })
  notifiedSeq!: number | null;
}

export class CreateOrders1700000000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'orders',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'item', type: 'varchar', length: '100' },
          { name: 'notified_seq', type: 'integer', isNullable: true },
        ],
      }),
    );
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('orders');
  }
}

/** The host's user directory decides who may connect and under which name. */
@Injectable()
export class DirectoryUserResolver extends UserResolver {
  resolve(claims: TokenClaims): AuthenticatedUser | null {
    if (claims.sub === 'former-employee') return null;
    return { id: claims.sub, name: `${claims.sub.toUpperCase()} (directory)`, tenantId: claims.tid ?? '', expiresAt: claims.exp };
  }
}

@Injectable()
export class OrdersService {
  constructor(
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    private readonly publisher: RealtimePublisher,
  ) {}

  async place(item: string): Promise<Order> {
    const order = await this.orders.save(this.orders.create({ item, notifiedSeq: null }));
    const ack = await this.publisher.publish('orders', { payload: { orderId: order.id, item } }, {});
    order.notifiedSeq = ack.seq;
    return this.orders.save(order);
  }
}

@Injectable()
export class RealtimeEventLog {
  readonly messages: MessageEventPayload[] = [];
  readonly sockets: string[] = [];

  @OnEvent(RealtimeEvents.MESSAGE_CREATED)
  onMessage(payload: MessageEventPayload) {
    this.messages.push(payload);
  }

  /** The other events, in the order they came. */
  readonly others: Array<[string, unknown]> = [];

  @OnEvent(RealtimeEvents.SOCKET_OPENED)
  onSocket(payload: RealtimeEventPayloads[typeof RealtimeEvents.SOCKET_OPENED]) {
    this.sockets.push(payload.userId);
  }

  @OnEvent(RealtimeEvents.MESSAGE_EDITED)
  onEdited(payload: MessageEditedEventPayload) {
    this.others.push([RealtimeEvents.MESSAGE_EDITED, payload]);
  }

  @OnEvent(RealtimeEvents.MESSAGE_DELETED)
  onDeleted(payload: MessageDeletedEventPayload) {
    this.others.push([RealtimeEvents.MESSAGE_DELETED, payload]);
  }

  @OnEvent(RealtimeEvents.SOCKET_CLOSED)
  onSocketClosed(payload: SocketEventPayload) {
    this.others.push([RealtimeEvents.SOCKET_CLOSED, payload]);
  }

  @OnEvent(RealtimeEvents.ROLE_CHANGED)
  onRoleChanged(payload: RoleChangedEventPayload) {
    this.others.push([RealtimeEvents.ROLE_CHANGED, payload]);
  }

  @OnEvent(RealtimeEvents.ASSIGNMENT_CHANGED)
  onAssignmentChanged(payload: AssignmentChangedEventPayload) {
    this.others.push([RealtimeEvents.ASSIGNMENT_CHANGED, payload]);
  }
}

/** A gateway of the host's own, on a path of its own, speaking its own protocol beside the module's. */
@WebSocketGateway({ path: '/host-echo' })
export class HostEchoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echoed', data };
  }
}

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  place(@Body() body: { item: string }) {
    return this.orders.place(body.item);
  }
}

@Module({})
export class HostAppModule {
  /** With `cluster`, one node of several sharing PostgreSQL and Redis. */
  static register(database: TestDatabase, cluster?: ClusterOptions): DynamicModule {
    const connection =
      database.kind === 'sqlite'
        ? ({ type: 'better-sqlite3', database: database.sqlitePath! } as const)
        : ({ type: 'postgres', url: database.postgresUrl! } as const);
    return {
      module: HostAppModule,
      imports: [
        EventEmitterModule.forRoot(),
        TypeOrmModule.forRoot({
          ...connection,
          entities: [Order, ...realtimeEntities],
          migrations: [CreateOrders1700000000000, ...realtimeMigrations],
          migrationsRun: true,
          synchronize: false,
        }),
        TypeOrmModule.forFeature([Order]),
        RealtimeModule.forRootAsync({
          inject: [DataSource],
          useFactory: (dataSource: DataSource) => ({
            database: { dataSource },
            auth: { secret: TEST_SECRET, issuer: TEST_ISSUER, audience: TEST_AUDIENCE },
            authorization: { bootstrapAdmins: ['root'] },
            cluster,
          }),
          userResolver: DirectoryUserResolver,
        }),
      ],
      providers: [OrdersService, RealtimeEventLog, HostEchoGateway],
      controllers: [OrdersController],
    };
  }
}
