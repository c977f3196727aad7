import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { Broker } from '../broker/broker.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { rowLock } from '../database/row-lock.js';
import { withStorage } from '../database/storage-failure.js';
import { TransactionRunner } from '../database/transaction-runner.service.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { roomKey } from './room-key.js';
import { RoomEntity } from './room.entity.js';

/** What the hot path needs to know of a room. */
export interface RoomRecord {
  id: number;
  tenantId: string;
  name: string;
  key: string;
  archived: boolean;
}

export interface RoomView {
  name: string;
  title: string | null;
  lastSeq: number;
  archived: boolean;
  createdAt: string;
  archivedAt: string | null;
}

export interface RoomListQuery {
  limit: number;
  /** Names sort ascending; the page starts after this one. */
  after?: string;
  includeArchived: boolean;
}

const ROOM_CACHE_SIZE = 100_000;
/** Reads of a room's row while archives keep being announced; the last is used uncached. */
const LOOKUP_ATTEMPTS = 3;

@Injectable()
export class RoomsService {
  private readonly logger = new Logger('RealtimeRooms');
  private readonly cache = new Map<string, RoomRecord>();
  /** Rooms being opened (read, or created first), by key. */
  private readonly opening = new Map<string, Promise<RoomRecord>>();
  /** Counts the cache's invalidations: a row read across one may be stale and is read again. */
  private invalidations = 0;

  constructor(
    @InjectRepository(RoomEntity, REALTIME_CONNECTION) private readonly rooms: Repository<RoomEntity>,
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditService,
    private readonly broker: Broker,
  ) {
    broker.onControl((message) => {
      if (message.type !== 'room.changed') return;
      this.cache.delete(message.roomKey);
      this.invalidations++;
    });
    // Archives announced while the other nodes were out of reach were missed.
    broker.onReconnect(() => {
      this.cache.clear();
      this.invalidations++;
    });
  }

  /** A room that exists, archived or not; NOT_FOUND otherwise. */
  async find(tenantId: string, name: string): Promise<RoomRecord> {
    const room = await this.lookup(tenantId, name);
    if (!room) throw RealtimeError.notFound(`room ${name} does not exist`);
    return room;
  }

  /** A room that takes messages and members: NOT_FOUND when missing or archived. */
  async findActive(tenantId: string, name: string): Promise<RoomRecord> {
    return active(await this.find(tenantId, name));
  }

  /** Like `findActive`, but a missing room is created (first join or send); at once, without a promise, when the room is cached. */
  open(tenantId: string, name: string): RoomRecord | Promise<RoomRecord> {
    const key = roomKey(tenantId, name);
    const cached = this.cache.get(key);
    if (cached) return active(cached);
    // Sends that find the room uncached wait for one read and go on in the order they came: each with
    // its own reads (pooled connections) could overtake an earlier send of the same sender.
    let opening = this.opening.get(key);
    if (!opening) {
      opening = this.openUncached(tenantId, name).finally(() => this.opening.delete(key));
      this.opening.set(key, opening);
    }
    return opening;
  }

  private async openUncached(tenantId: string, name: string): Promise<RoomRecord> {
    let room = await this.lookup(tenantId, name);
    if (!room) {
      await this.transactions.run((manager) =>
        manager
          .createQueryBuilder()
          .insert()
          .into(RoomEntity)
          .values({ tenantId, name, title: null, lastSeq: 0, createdAt: Date.now(), archivedAt: null })
          .orIgnore()
          .execute(),
      );
      room = await this.lookup(tenantId, name);
      if (!room) throw RealtimeError.unavailable(`room ${name} could not be created; nothing was done`);
    }
    return active(room);
  }

  /** The highest `seq` stored in the room, read from the database. */
  async lastSeq(room: RoomRecord): Promise<number> {
    const row = await withStorage(this.logger, () => this.rooms.findOne({ where: { id: room.id }, select: { lastSeq: true } }));
    return row?.lastSeq ?? 0;
  }

  async list(tenantId: string, query: RoomListQuery): Promise<{ rooms: RoomView[]; hasMore: boolean }> {
    const builder = this.rooms
      .createQueryBuilder('room')
      .where('room.tenantId = :tenantId', { tenantId })
      .orderBy('room.name', 'ASC')
      .take(query.limit + 1);
    if (query.after !== undefined) builder.andWhere('room.name > :after', { after: query.after });
    if (!query.includeArchived) builder.andWhere('room.archivedAt IS NULL');
    const rows = await withStorage(this.logger, () => builder.getMany());
    return { rooms: rows.slice(0, query.limit).map(toRoomView), hasMore: rows.length > query.limit };
  }

  async view(tenantId: string, name: string): Promise<RoomView> {
    const row = await withStorage(this.logger, () => this.rooms.findOne({ where: { tenantId, name } }));
    if (!row) throw RealtimeError.notFound(`room ${name} does not exist`);
    return toRoomView(row);
  }

  async create(actor: AuthenticatedUser, name: string, title: string | null): Promise<RoomView> {
    await this.transactions.run(async (manager) => {
      if (await manager.exists(RoomEntity, { where: { tenantId: actor.tenantId, name } })) {
        throw RealtimeError.conflict(`room ${name} already exists`);
      }
      await manager.insert(RoomEntity, { tenantId: actor.tenantId, name, title, lastSeq: 0, createdAt: Date.now(), archivedAt: null });
      await this.audit.record(manager, actor, 'room.create', `room:${name}`, { title });
    });
    return this.view(actor.tenantId, name);
  }

  async update(actor: AuthenticatedUser, name: string, changes: { title?: string | null; archived?: boolean }): Promise<RoomView> {
    const archived = await this.transactions.run(async (manager) => {
      // Read in the transaction, the row locked: concurrent archives of one room write and audit once.
      const row = await manager.findOne(RoomEntity, { where: { tenantId: actor.tenantId, name }, ...rowLock(manager, 'update') });
      if (!row) throw RealtimeError.notFound(`room ${name} does not exist`);
      const before = { title: row.title, archived: row.archivedAt !== null };
      const archiving = changes.archived !== undefined && changes.archived !== before.archived;
      const retitling = changes.title !== undefined && changes.title !== before.title;
      // Archiving an archived room, or a change to what it already is: done, nothing to write or audit.
      if (!archiving && !retitling) return undefined;
      await manager.update(
        RoomEntity,
        { tenantId: actor.tenantId, name },
        {
          ...(retitling ? { title: changes.title } : {}),
          ...(archiving ? { archivedAt: changes.archived ? Date.now() : null } : {}),
        },
      );
      const action = archiving ? (changes.archived ? 'room.archive' : 'room.restore') : 'room.update';
      await this.audit.record(manager, actor, action, `room:${name}`, {
        before,
        after: { title: changes.title !== undefined ? changes.title : before.title, archived: changes.archived ?? before.archived },
      });
      return archiving ? changes.archived : undefined;
    });
    if (archived !== undefined) await this.broker.publishControl({ type: 'room.changed', roomKey: roomKey(actor.tenantId, name), archived });
    return this.view(actor.tenantId, name);
  }

  private async lookup(tenantId: string, name: string): Promise<RoomRecord | null> {
    const key = roomKey(tenantId, name);
    const cached = this.cache.get(key);
    if (cached) return cached;
    let row: Pick<RoomEntity, 'id' | 'archivedAt'> | null = null;
    let fresh = false;
    // An archive or restore announced while the row was on its way may not show in it: read again.
    for (let attempt = 0; attempt < LOOKUP_ATTEMPTS && !fresh; attempt++) {
      const invalidations = this.invalidations;
      row = await withStorage(this.logger, () => this.rooms.findOne({ where: { tenantId, name }, select: { id: true, archivedAt: true } }));
      fresh = invalidations === this.invalidations;
    }
    if (!row) return null;
    const room: RoomRecord = { id: row.id, tenantId, name, key, archived: row.archivedAt !== null };
    if (!fresh) return room;
    if (this.cache.size >= ROOM_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, room);
    return room;
  }
}

function active(room: RoomRecord): RoomRecord {
  if (room.archived) throw RealtimeError.notFound(`room ${room.name} is archived`);
  return room;
}

function toRoomView(row: RoomEntity): RoomView {
  return {
    name: row.name,
    title: row.title,
    lastSeq: row.lastSeq,
    archived: row.archivedAt !== null,
    createdAt: new Date(row.createdAt).toISOString(),
    archivedAt: row.archivedAt === null ? null : new Date(row.archivedAt).toISOString(),
  };
}
