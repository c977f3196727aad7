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

/**
 * What became of one entry: stored as a new message (its id and seq; the rest
 * is the entry's, sent at the batch's time), found stored earlier (a resend:
 * the original), or refused because its room is archived. Only what the
 * caller lacks comes back (it crosses back from the writer thread).
 */
export type BatchOutcome = { id: string; seq: number } | { original: MessageRow } | { archived: true };

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
const INSERT_MESSAGE = 'INSERT INTO switchboard_messages (id, room_id, seq, sender_id, sender_name, client_msg_id, text, payload, sent_at)';
const INSERT_AUDIT = 'INSERT INTO switchboard_audit_log (tenant_id, actor_id, actor_tenant_id, action, target, details, at) VALUES';

/**
 * Stores a batch inside the caller's transaction. The rooms' rows are locked
 * (PostgreSQL; SQLite's writer holds the whole file) in id order, so nodes
 * sharing the database hand out each room's `seq` without collision or gap,
 * and earlier sends of the same `clientMsgId` are looked up under the lock.
 */
export async function storeBatch(query: Query, dialect: Dialect, batch: BatchEntry[], now: number): Promise<BatchOutcome[]> {
  const statements = dialect === 'postgres' ? POSTGRES : SQLITE;
  const roomIds = [...new Set(batch.map((entry) => entry.roomId))].sort((a, b) => a - b);
  // Rooms archived since the sender looked them up take no more messages.
  const rooms = await statements.lockRooms(query, roomIds);
  const lastSeq = new Map(rooms.map((room) => [Number(room.id), Number(room.last_seq)]));

  const keyOf = (roomId: number, senderId: string, clientMsgId: string) => `${roomId}\n${senderId}\n${clientMsgId}`;
  const earlier = new Map<string, MessageRow>();
  for (const row of await statements.findEarlier(query, batch)) earlier.set(keyOf(Number(row.room_id), row.sender_id, row.client_msg_id), row);

  const inserts: MessageRow[] = [];
  const outcomes = batch.map((entry): BatchOutcome => {
    const key = keyOf(entry.roomId, entry.senderId, entry.clientMsgId);
    const original = earlier.get(key);
    if (original) return { original };
    const previous = lastSeq.get(entry.roomId);
    if (previous === undefined) return { archived: true };
    const row: MessageRow = {
      // Time-ordered: each batch adds to the end of the primary key's index instead of touching
      // a random page of it per message (random ids made a commit write a page per message).
      id: timeOrderedUuid(now),
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
    return { id: row.id, seq: previous + 1 };
  });

  if (inserts.length > 0) {
    await statements.insert(query, inserts);
    const touched = [...new Set(inserts.map((r) => r.room_id))];
    await statements.setLastSeq(query, touched.map((roomId) => [roomId, lastSeq.get(roomId)!]));
  }
  for (const [index, entry] of batch.entries()) {
    const outcome = outcomes[index];
    const actor = entry.publishedBy;
    if (!actor || !('seq' in outcome)) continue;
    // The columns AuditService.record writes for an actor.
    const details = JSON.stringify({ seq: outcome.seq, messageId: outcome.id });
    const audit = new BatchSql(dialect === 'postgres');
    const values = [actor.tenantId, actor.id, actor.tenantId, 'message.publish', `room:${entry.roomName}`, details, now];
    await query(`${INSERT_AUDIT} (${audit.list(values)})`, audit.params);
  }
  return outcomes;
}

/** The statements of a batch, in each database's best form. */
interface BatchStatements {
  lockRooms(query: Query, roomIds: number[]): Promise<Array<{ id: number; last_seq: number | string }>>;
  /** Messages stored earlier with one of the batch's (room, sender, clientMsgId). */
  findEarlier(query: Query, batch: BatchEntry[]): Promise<MessageRow[]>;
  insert(query: Query, rows: MessageRow[]): Promise<void>;
  setLastSeq(query: Query, lastSeqByRoom: Array<[number, number]>): Promise<void>;
}

const insertedValues = (r: MessageRow) => [r.id, r.room_id, r.seq, r.sender_id, r.sender_name, r.client_msg_id, r.text, r.payload, r.sent_at];

/** SQLite, in process: statements are prepared once per shape and cheap to run. */
const SQLITE: BatchStatements = {
  lockRooms(query, roomIds) {
    const sql = new BatchSql(false);
    return query(`SELECT id, last_seq FROM switchboard_rooms WHERE id IN (${sql.list(roomIds)}) AND archived_at IS NULL ORDER BY id`, sql.params);
  },
  findEarlier(query, batch) {
    // Each (room, sender, clientMsgId) is looked up in the unique index (IN lists on the three
    // columns would make the planner probe every combination of them).
    const sql = new BatchSql(false);
    const keys = batch.map((e) => `(${sql.list([e.roomId, e.senderId, e.clientMsgId])})`);
    return query(
      `WITH batch (room_id, sender_id, client_msg_id) AS (VALUES ${keys.join(', ')}) ` +
        `SELECT ${MESSAGE_COLUMNS.map((column) => `m.${column}`).join(', ')} FROM batch JOIN switchboard_messages m ` +
        'ON m.room_id = batch.room_id AND m.sender_id = batch.sender_id AND m.client_msg_id = batch.client_msg_id',
      sql.params,
    );
  },
  async insert(query, rows) {
    // One prepared statement per row beats SQLite's multi-row VALUES.
    const row = `${INSERT_MESSAGE} VALUES (${new BatchSql(false).list(insertedValues(rows[0]))})`;
    for (const r of rows) await query(row, insertedValues(r));
  },
  async setLastSeq(query, lastSeqByRoom) {
    const sql = new BatchSql(false);
    const cases = lastSeqByRoom.map(([roomId, seq]) => `WHEN ${sql.value(roomId)} THEN ${sql.value(seq)}`).join(' ');
    await query(`UPDATE switchboard_rooms SET last_seq = CASE id ${cases} END WHERE id IN (${sql.list(lastSeqByRoom.map(([roomId]) => roomId))})`, sql.params);
  },
};

/**
 * PostgreSQL: one array per column, so each statement has the same text and a
 * handful of parameters whatever the batch's size (thousands of parameters
 * cost more to parse and plan than the rows cost to store).
 */
const POSTGRES: BatchStatements = {
  lockRooms(query, roomIds) {
    return query('SELECT id, last_seq FROM switchboard_rooms WHERE id = ANY($1::integer[]) AND archived_at IS NULL ORDER BY id FOR UPDATE', [roomIds]);
  },
  findEarlier(query, batch) {
    // LIMIT keeps the lookup a probe of the unique index per entry: joined, the planner chose
    // a hash join over the whole table while the table was growing faster than its statistics.
    return query(
      'SELECT m.* FROM unnest($1::integer[], $2::varchar[], $3::varchar[]) AS batch (room_id, sender_id, client_msg_id) ' +
        `CROSS JOIN LATERAL (SELECT ${MESSAGE_COLUMNS.join(', ')} FROM switchboard_messages ` +
        'WHERE room_id = batch.room_id AND sender_id = batch.sender_id AND client_msg_id = batch.client_msg_id LIMIT 1) m',
      [batch.map((e) => e.roomId), batch.map((e) => e.senderId), batch.map((e) => e.clientMsgId)],
    );
  },
  async insert(query, rows) {
    const column = (pick: (row: MessageRow) => unknown) => rows.map(pick);
    await query(
      `${INSERT_MESSAGE} SELECT * FROM unnest($1::varchar[], $2::integer[], $3::bigint[], $4::varchar[], $5::varchar[], $6::varchar[], $7::text[], $8::text[], $9::bigint[])`,
      [
        column((r) => r.id),
        column((r) => r.room_id),
        column((r) => r.seq),
        column((r) => r.sender_id),
        column((r) => r.sender_name),
        column((r) => r.client_msg_id),
        column((r) => r.text),
        column((r) => r.payload),
        column((r) => r.sent_at),
      ],
    );
  },
  async setLastSeq(query, lastSeqByRoom) {
    await query('UPDATE switchboard_rooms r SET last_seq = s.last_seq FROM unnest($1::integer[], $2::bigint[]) AS s (id, last_seq) WHERE r.id = s.id', [
      lastSeqByRoom.map(([roomId]) => roomId),
      lastSeqByRoom.map(([, seq]) => seq),
    ]);
  },
};

/**
 * A version 7 UUID (RFC 9562): the time in milliseconds, then random bits.
 * Made from Node's version 4 UUID, whose random bits come from a pool (16 fresh
 * bytes from the system per id cost 2.6% of the server's CPU in the durable
 * benchmark).
 */
export function timeOrderedUuid(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

/** Bound parameters of one statement, in the placeholder style of the database ($n or ?). */
class BatchSql {
  readonly params: unknown[] = [];

  constructor(readonly isPostgres: boolean) {}

  value(value: unknown): string {
    this.params.push(value);
    return this.isPostgres ? `$${this.params.length}` : '?';
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
