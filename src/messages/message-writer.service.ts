import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { TransactionRunner } from '../database/transaction-runner.service.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import type { RoomRecord } from '../rooms/rooms.service.js';
import { MessageEntity } from './message.entity.js';

export interface NewMessage {
  room: RoomRecord;
  sender: { id: string; name: string };
  clientMsgId: string;
  text: string | null;
  payload: Record<string, unknown> | null;
  /** An admin publishing through the API: audited in the same transaction as the message. */
  publishedBy?: AuthenticatedUser;
}

export interface StoredMessage {
  room: RoomRecord;
  message: MessageEntity;
  /** The parsed payload, so that announcing the message does not parse it again. */
  payload: Record<string, unknown> | null;
  /** A resend: `message` is the original, stored earlier. */
  duplicate: boolean;
}

interface PendingWrite extends NewMessage {
  resolve(stored: StoredMessage): void;
  reject(error: Error): void;
}

/** The most messages one transaction stores. */
const MAX_BATCH = 256;
/** Sends waiting for the database beyond this are refused at once (UNAVAILABLE) instead of queuing without bound. */
const MAX_QUEUE = 10_000;

/**
 * Group commit: sends that arrive while a transaction is in flight are stored
 * together by the next one, and each is acknowledged only after its batch is
 * committed. In each batch the rooms' rows are locked (PostgreSQL) in id order,
 * so nodes sharing the database hand out each room's `seq` without collision
 * or gap, and look for an earlier send of the same `clientMsgId` under the lock.
 */
@Injectable()
export class MessageWriter implements BeforeApplicationShutdown {
  private readonly logger = new Logger('RealtimeMessageWriter');
  private queue: PendingWrite[] = [];
  private flushing: Promise<void> | null = null;
  private readonly committedListeners: Array<(messages: StoredMessage[]) => void> = [];

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly audit: AuditService,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly metrics: RealtimeMetrics,
  ) {}

  write(message: NewMessage): Promise<StoredMessage> {
    if (this.queue.length >= MAX_QUEUE) {
      return Promise.reject(RealtimeError.unavailable('storage is not keeping up; the message was not stored'));
    }
    return new Promise<StoredMessage>((resolve, reject) => {
      this.queue.push({ ...message, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /**
   * Called after each commit with its messages in `seq` order per room,
   * resends included: a resend may be the only news of a message whose
   * first ack was lost, and delivery drops what members already have.
   */
  onCommitted(listener: (messages: StoredMessage[]) => void): void {
    this.committedListeners.push(listener);
  }

  /** Waits until everything accepted so far is stored (or refused), for at most the shutdown timeout. */
  async beforeApplicationShutdown(): Promise<void> {
    const deadline = Date.now() + this.options.websocket.shutdownTimeoutMs;
    while (this.flushing && Date.now() < deadline) {
      await Promise.race([this.flushing, new Promise((resolve) => setTimeout(resolve, deadline - Date.now()).unref())]);
    }
  }

  private async flush(): Promise<void> {
    // Let the sends already read from sockets in this turn join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      await this.commit(batch);
    }
    this.flushing = null;
  }

  private async commit(batch: PendingWrite[]): Promise<void> {
    let results: Array<StoredMessage | RealtimeError>;
    this.metrics.batchSize.observe(batch.length);
    const timer = this.metrics.batchSeconds.startTimer();
    try {
      results = await this.transactions.run((manager) => this.store(manager, batch));
      timer();
    } catch (error) {
      if (batch.length > 1) {
        // One message the database refuses must not sink the others: store them one by one.
        for (const pending of batch) await this.commit([pending]);
        return;
      }
      batch[0].reject(error instanceof RealtimeError ? error : RealtimeError.unavailable('the message could not be stored; it was not sent'));
      return;
    }
    const stored = results.filter((r): r is StoredMessage => !(r instanceof RealtimeError));
    for (const listener of this.committedListeners) {
      try {
        listener(stored);
      } catch (error) {
        this.logger.error(`announcing stored messages: ${(error as Error).message}`, (error as Error).stack);
      }
    }
    batch.forEach((pending, index) => {
      const result = results[index];
      if (result instanceof RealtimeError) pending.reject(result);
      else pending.resolve(result);
    });
  }

  /**
   * One batch in a transaction: a handful of statements whatever its size
   * (plain SQL: the query builder's cost grew with the batch and dominated
   * the profile of the publish path).
   */
  private async store(manager: EntityManager, batch: PendingWrite[]): Promise<Array<StoredMessage | RealtimeError>> {
    const sql = new BatchSql(this.transactions.isPostgres);
    const query = statementsOf(manager, sql.isPostgres);
    const roomIds = [...new Set(batch.map((p) => p.room.id))].sort((a, b) => a - b);
    // Rooms archived since the sender looked them up take no more messages.
    const rooms: Array<{ id: number; last_seq: number | string }> = await query(
      `SELECT id, last_seq FROM switchboard_rooms WHERE id IN (${sql.list(roomIds)}) AND archived_at IS NULL ORDER BY id${sql.isPostgres ? ' FOR UPDATE' : ''}`,
      sql.params,
    );
    const lastSeq = new Map(rooms.map((room) => [Number(room.id), Number(room.last_seq)]));

    // Earlier sends of the same clientMsgIds, read under the rooms' locks: each (room, sender,
    // clientMsgId) of the batch is looked up in the unique index (IN lists on the three columns
    // would make the planner probe every combination of them).
    const keyOf = (roomId: number, senderId: string, clientMsgId: string) => `${roomId}\n${senderId}\n${clientMsgId}`;
    const earlier = new Map<string, MessageEntity>();
    const lookup = new BatchSql(sql.isPostgres);
    const keys = batch.map((p) => `(${lookup.value(p.room.id, 'integer')}, ${lookup.value(p.sender.id, 'varchar')}, ${lookup.value(p.clientMsgId, 'varchar')})`);
    const found: MessageRow[] = await query(
      `WITH batch (room_id, sender_id, client_msg_id) AS (VALUES ${keys.join(', ')}) ` +
        `SELECT ${MESSAGE_COLUMNS.map((column) => `m.${column}`).join(', ')} FROM batch JOIN switchboard_messages m ` +
        'ON m.room_id = batch.room_id AND m.sender_id = batch.sender_id AND m.client_msg_id = batch.client_msg_id',
      lookup.params,
    );
    for (const row of found) {
      const message = messageFromRow(row);
      earlier.set(keyOf(message.roomId, message.senderId, message.clientMsgId), message);
    }

    const now = Date.now();
    const inserts: MessageEntity[] = [];
    const results = batch.map((pending): StoredMessage | RealtimeError => {
      const key = keyOf(pending.room.id, pending.sender.id, pending.clientMsgId);
      const original = earlier.get(key);
      if (original) {
        return { room: pending.room, message: original, payload: null, duplicate: true };
      }
      const previous = lastSeq.get(pending.room.id);
      if (previous === undefined) return RealtimeError.notFound(`room ${pending.room.name} is archived`);
      const message = Object.assign(new MessageEntity(), {
        id: randomUUID(),
        roomId: pending.room.id,
        seq: previous + 1,
        senderId: pending.sender.id,
        senderName: pending.sender.name,
        clientMsgId: pending.clientMsgId,
        text: pending.text,
        payload: pending.payload === null ? null : JSON.stringify(pending.payload),
        sentAt: now,
        editedAt: null,
        deletedAt: null,
      });
      lastSeq.set(pending.room.id, message.seq);
      earlier.set(key, message);
      inserts.push(message);
      return { room: pending.room, message, payload: pending.payload, duplicate: false };
    });

    if (inserts.length > 0) {
      const insert = new BatchSql(sql.isPostgres);
      const values = (m: MessageEntity) => [m.id, m.roomId, m.seq, m.senderId, m.senderName, m.clientMsgId, m.text, m.payload, m.sentAt];
      const into = 'INSERT INTO switchboard_messages (id, room_id, seq, sender_id, sender_name, client_msg_id, text, payload, sent_at) VALUES';
      if (sql.isPostgres) {
        // One round trip for the batch.
        const rows = inserts.map((m) => `(${insert.list(values(m))})`);
        await query(`${into} ${rows.join(', ')}`, insert.params);
      } else {
        // In-process: one prepared statement per row beats SQLite's multi-row VALUES.
        const row = `${into} (${insert.list(values(inserts[0]))})`;
        for (const m of inserts) await query(row, values(m));
      }
      const update = new BatchSql(sql.isPostgres);
      const touched = [...new Set(inserts.map((m) => m.roomId))];
      const cases = touched.map((roomId) => `WHEN ${update.value(roomId)} THEN ${update.value(lastSeq.get(roomId)!, 'bigint')}`).join(' ');
      await query(`UPDATE switchboard_rooms SET last_seq = CASE id ${cases} END WHERE id IN (${update.list(touched)})`, update.params);
    }
    for (const [index, pending] of batch.entries()) {
      const result = results[index];
      if (pending.publishedBy && !(result instanceof RealtimeError) && !result.duplicate) {
        await this.audit.record(manager, pending.publishedBy, 'message.publish', `room:${pending.room.name}`, {
          seq: result.message.seq,
          messageId: result.message.id,
        });
      }
    }
    return results;
  }
}

const MESSAGE_COLUMNS = ['id', 'room_id', 'seq', 'sender_id', 'sender_name', 'client_msg_id', 'text', 'payload', 'sent_at', 'edited_at', 'deleted_at'];

interface MessageRow {
  id: string;
  room_id: number;
  seq: number | string;
  sender_id: string;
  sender_name: string;
  client_msg_id: string;
  text: string | null;
  payload: string | null;
  sent_at: number | string;
  edited_at: number | string | null;
  deleted_at: number | string | null;
}

/** PostgreSQL returns bigint columns as strings. */
const optionalNumber = (value: number | string | null) => (value === null ? null : Number(value));

function messageFromRow(row: MessageRow): MessageEntity {
  return Object.assign(new MessageEntity(), {
    id: row.id,
    roomId: Number(row.room_id),
    seq: Number(row.seq),
    senderId: row.sender_id,
    senderName: row.sender_name,
    clientMsgId: row.client_msg_id,
    text: row.text,
    payload: row.payload,
    sentAt: Number(row.sent_at),
    editedAt: optionalNumber(row.edited_at),
    deletedAt: optionalNumber(row.deleted_at),
  });
}

type Query = (sql: string, params: unknown[]) => Promise<any>;

/** Prepared statements of the SQLite connection, by SQL text; the writer's statements take few shapes. */
const preparedStatements = new WeakMap<object, Map<string, SqliteStatement>>();
const MAX_PREPARED = 512;

interface SqliteStatement {
  reader: boolean;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): unknown;
}

/**
 * How the batch's statements run: through TypeORM on PostgreSQL; on SQLite
 * straight on the transaction's better-sqlite3 connection with cached
 * prepared statements (TypeORM prepares each query anew, and its per-query
 * cost was most of a batch's time).
 */
function statementsOf(manager: EntityManager, isPostgres: boolean): Query {
  if (isPostgres) return (sql, params) => manager.query(sql, params);
  const database = (manager.connection.driver as unknown as { databaseConnection: { prepare(sql: string): SqliteStatement } }).databaseConnection;
  let cache = preparedStatements.get(database);
  if (!cache) preparedStatements.set(database, (cache = new Map()));
  const statements = cache;
  return async (sql, params) => {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= MAX_PREPARED) statements.clear();
      statements.set(sql, (statement = database.prepare(sql)));
    }
    return statement.reader ? statement.all(...params) : statement.run(...params);
  };
}

/** Bound parameters of one statement, in the placeholder style of the database ($n or ?). */
class BatchSql {
  readonly params: unknown[] = [];

  constructor(readonly isPostgres: boolean) {}

  /** A placeholder for `value`; PostgreSQL is told the type where the context leaves it open. */
  value(value: unknown, pgType?: string): string {
    this.params.push(value);
    if (!this.isPostgres) return '?';
    return pgType ? `$${this.params.length}::${pgType}` : `$${this.params.length}`;
  }

  list(values: unknown[]): string {
    return values.map((value) => this.value(value)).join(', ');
  }
}
