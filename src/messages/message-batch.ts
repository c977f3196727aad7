import { randomUUID } from 'node:crypto';

/**
 * One group commit in plain SQL, independent of TypeORM so that the SQLite
 * writer thread runs the very same statements as the in-process path: a
 * handful of statements whatever the batch's size (the query builder's cost
 * grew with the batch and dominated the profile of the publish path).
 */

/** One message of a batch, as plain data (it crosses to the writer thread). */
export interface BatchEntry {
  roomId: number;
  roomName: string;
  senderId: string;
  senderName: string;
  clientMsgId: string;
  text: string | null;
  /** JSON, serialised once on the way in. */
  payload: string | null;
  /** An admin publishing through the API: audited in the same transaction as the message. */
  publishedBy?: { id: string; tenantId: string };
}

/** What became of one entry: stored (or found stored earlier: a resend), or refused because its room is archived. */
export type BatchOutcome = { row: MessageRow; duplicate: boolean } | { archived: true };

/** A row of switchboard_messages as the drivers return it (PostgreSQL returns bigint columns as strings). */
export interface MessageRow {
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

export type Dialect = 'sqlite' | 'postgres';
export type Query = (sql: string, params: unknown[]) => Promise<any>;

const MESSAGE_COLUMNS = ['id', 'room_id', 'seq', 'sender_id', 'sender_name', 'client_msg_id', 'text', 'payload', 'sent_at', 'edited_at', 'deleted_at'];
const INSERT_MESSAGE = 'INSERT INTO switchboard_messages (id, room_id, seq, sender_id, sender_name, client_msg_id, text, payload, sent_at) VALUES';
const INSERT_AUDIT = 'INSERT INTO switchboard_audit_log (tenant_id, actor_id, actor_tenant_id, action, target, details, at) VALUES';

/**
 * Stores a batch inside the caller's transaction. The rooms' rows are locked
 * (PostgreSQL; SQLite's writer holds the whole file) in id order, so nodes
 * sharing the database hand out each room's `seq` without collision or gap,
 * and earlier sends of the same `clientMsgId` are looked up under the lock.
 */
export async function storeBatch(query: Query, dialect: Dialect, batch: BatchEntry[], now: number): Promise<BatchOutcome[]> {
  const isPostgres = dialect === 'postgres';
  const sql = new BatchSql(isPostgres);
  const roomIds = [...new Set(batch.map((entry) => entry.roomId))].sort((a, b) => a - b);
  // Rooms archived since the sender looked them up take no more messages.
  const rooms: Array<{ id: number; last_seq: number | string }> = await query(
    `SELECT id, last_seq FROM switchboard_rooms WHERE id IN (${sql.list(roomIds)}) AND archived_at IS NULL ORDER BY id${isPostgres ? ' FOR UPDATE' : ''}`,
    sql.params,
  );
  const lastSeq = new Map(rooms.map((room) => [Number(room.id), Number(room.last_seq)]));

  // Each (room, sender, clientMsgId) is looked up in the unique index (IN lists on the three
  // columns would make the planner probe every combination of them).
  const keyOf = (roomId: number, senderId: string, clientMsgId: string) => `${roomId}\n${senderId}\n${clientMsgId}`;
  const earlier = new Map<string, MessageRow>();
  const lookup = new BatchSql(isPostgres);
  const keys = batch.map((e) => `(${lookup.value(e.roomId, 'integer')}, ${lookup.value(e.senderId, 'varchar')}, ${lookup.value(e.clientMsgId, 'varchar')})`);
  const found: MessageRow[] = await query(
    `WITH batch (room_id, sender_id, client_msg_id) AS (VALUES ${keys.join(', ')}) ` +
      `SELECT ${MESSAGE_COLUMNS.map((column) => `m.${column}`).join(', ')} FROM batch JOIN switchboard_messages m ` +
      'ON m.room_id = batch.room_id AND m.sender_id = batch.sender_id AND m.client_msg_id = batch.client_msg_id',
    lookup.params,
  );
  for (const row of found) earlier.set(keyOf(Number(row.room_id), row.sender_id, row.client_msg_id), row);

  const inserts: MessageRow[] = [];
  const outcomes = batch.map((entry): BatchOutcome => {
    const key = keyOf(entry.roomId, entry.senderId, entry.clientMsgId);
    const original = earlier.get(key);
    if (original) return { row: original, duplicate: true };
    const previous = lastSeq.get(entry.roomId);
    if (previous === undefined) return { archived: true };
    const row: MessageRow = {
      id: randomUUID(),
      room_id: entry.roomId,
      seq: previous + 1,
      sender_id: entry.senderId,
      sender_name: entry.senderName,
      client_msg_id: entry.clientMsgId,
      text: entry.text,
      payload: entry.payload,
      sent_at: now,
      edited_at: null,
      deleted_at: null,
    };
    lastSeq.set(entry.roomId, previous + 1);
    earlier.set(key, row);
    inserts.push(row);
    return { row, duplicate: false };
  });

  if (inserts.length > 0) {
    const values = (r: MessageRow) => [r.id, r.room_id, r.seq, r.sender_id, r.sender_name, r.client_msg_id, r.text, r.payload, r.sent_at];
    if (isPostgres) {
      // One round trip for the batch.
      const insert = new BatchSql(true);
      const rows = inserts.map((r) => `(${insert.list(values(r))})`);
      await query(`${INSERT_MESSAGE} ${rows.join(', ')}`, insert.params);
    } else {
      // In-process: one prepared statement per row beats SQLite's multi-row VALUES.
      const row = `${INSERT_MESSAGE} (${new BatchSql(false).list(values(inserts[0]))})`;
      for (const r of inserts) await query(row, values(r));
    }
    const update = new BatchSql(isPostgres);
    const touched = [...new Set(inserts.map((r) => r.room_id))];
    const cases = touched.map((roomId) => `WHEN ${update.value(roomId)} THEN ${update.value(lastSeq.get(roomId)!, 'bigint')}`).join(' ');
    await query(`UPDATE switchboard_rooms SET last_seq = CASE id ${cases} END WHERE id IN (${update.list(touched)})`, update.params);
  }
  for (const [index, entry] of batch.entries()) {
    const outcome = outcomes[index];
    const actor = entry.publishedBy;
    if (!actor || 'archived' in outcome || outcome.duplicate) continue;
    // The columns AuditService.record writes for an actor.
    const details = JSON.stringify({ seq: Number(outcome.row.seq), messageId: outcome.row.id });
    const audit = new BatchSql(isPostgres);
    const values = [actor.tenantId, actor.id, actor.tenantId, 'message.publish', `room:${entry.roomName}`, details, now];
    await query(`${INSERT_AUDIT} (${audit.list(values)})`, audit.params);
  }
  return outcomes;
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

/** The part of a better-sqlite3 connection the batch uses. */
export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}

interface SqliteStatement {
  reader: boolean;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): unknown;
}

/** Prepared statements by SQL text, per connection; the batch's statements take few shapes. */
const preparedStatements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();
const MAX_PREPARED = 512;

/** Queries on a better-sqlite3 connection through cached prepared statements (TypeORM prepares each query anew). */
export function sqliteQuery(database: SqliteConnection): Query {
  let statements = preparedStatements.get(database);
  if (!statements) preparedStatements.set(database, (statements = new Map()));
  const cache = statements;
  return async (sql, params) => {
    let statement = cache.get(sql);
    if (!statement) {
      if (cache.size >= MAX_PREPARED) cache.clear();
      cache.set(sql, (statement = database.prepare(sql)));
    }
    return statement.reader ? statement.all(...params) : statement.run(...params);
  };
}
