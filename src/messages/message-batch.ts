import { randomUUID } from 'node:crypto';

/**
 * One group commit in plain SQL, in each database's best form: on SQLite a
 * handful of statements in the caller's transaction (the writer thread runs
 * the very same as the in-process path), on PostgreSQL one statement.
 * Independent of TypeORM: the query builder's cost grew with the batch and
 * dominated the profile of the publish path.
 */

/** One message of a batch, as plain data (it crosses to the writer thread). */
export interface BatchEntry {
  /**
   * Its `messageId`, chosen once per send (timeOrderedUuid) and kept by every
   * commit that tries to store it: a send whose commit failed on the way can
   * tell a row that commit stored from one stored before.
   */
  id: string;
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
 * What became of one entry: stored as a new message (its seq; the rest is the
 * entry's, sent at the batch's time), found stored earlier (a resend: the
 * original), refused because its room is archived, or refused by the database
 * (the writer thread's batches only: see ONE_MESSAGE_FAILURE). Only what the
 * caller lacks comes back (it crosses back from the writer thread).
 */
export type BatchOutcome = { seq: number } | { original: MessageRow } | { archived: true } | { refused: { message: string; code?: string } };

/** PostgreSQL's data exceptions and integrity violations (SQLSTATE classes 22 and 23), SQLite's like. */
const ONE_MESSAGE_FAILURE = /^(2[23][0-9A-Z]{3}|SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)\w*)$/;

/** A driver's error code the data of one message may have caused, rather than the database itself: the rest of its batch is worth storing without it. */
export const isOneMessageFailure = (code: unknown): boolean => typeof code === 'string' && ONE_MESSAGE_FAILURE.test(code);

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

export type Query = (sql: string, params: unknown[]) => Promise<any>;

const MESSAGE_COLUMNS = ['id', 'room_id', 'seq', 'sender_id', 'sender_name', 'client_msg_id', 'text', 'payload', 'sent_at', 'edited_at', 'deleted_at'];
const INSERT_MESSAGE = 'INSERT INTO switchboard_messages (id, room_id, seq, sender_id, sender_name, client_msg_id, text, payload, sent_at)';
const INSERT_AUDIT = 'INSERT INTO switchboard_audit_log (tenant_id, actor_id, actor_tenant_id, action, target, details, at)';

/** A send's idempotency key: the same `clientMsgId` of the same sender in the same room is one message (JSON: ids may contain any character). */
export const idempotencyKey = (roomId: number, senderId: string, clientMsgId: string) => JSON.stringify([roomId, senderId, clientMsgId]);

function newRow(entry: BatchEntry, seq: number, now: number): MessageRow {
  return {
    id: entry.id,
    room_id: entry.roomId,
    seq,
    sender_id: entry.senderId,
    sender_name: entry.senderName,
    client_msg_id: entry.clientMsgId,
    text: entry.text,
    payload: entry.payload,
    sent_at: now,
    edited_at: null,
    deleted_at: null,
  };
}

/**
 * Stores a batch on SQLite, inside the caller's transaction (the writer
 * thread's, or TypeORM's connection's): the file's write lock is held for the
 * whole of it, so each room's `seq` is handed out without collision or gap,
 * and earlier sends of the same `clientMsgId` are found. Prepared statements,
 * one per row, are cheap here; the other statements are one each per batch.
 */
export async function storeBatch(query: Query, batch: BatchEntry[], now: number): Promise<BatchOutcome[]> {
  const roomIds = [...new Set(batch.map((entry) => entry.roomId))];
  // Rooms archived since the sender looked them up take no more messages.
  const rooms: Array<{ id: number; last_seq: number }> = await query(
    `SELECT id, last_seq FROM switchboard_rooms WHERE id IN (${placeholders(roomIds.length)}) AND archived_at IS NULL`,
    roomIds,
  );
  const lastSeq = new Map(rooms.map((room) => [Number(room.id), Number(room.last_seq)]));

  // Each (room, sender, clientMsgId) is looked up in the unique index (IN lists on the three
  // columns would make the planner probe every combination of them).
  const earlier = new Map<string, MessageRow>();
  const found: MessageRow[] = await query(
    `WITH batch (room_id, sender_id, client_msg_id) AS (VALUES ${batch.map(() => '(?, ?, ?)').join(', ')}) ` +
      `SELECT ${MESSAGE_COLUMNS.map((column) => `m.${column}`).join(', ')} FROM batch JOIN switchboard_messages m ` +
      'ON m.room_id = batch.room_id AND m.sender_id = batch.sender_id AND m.client_msg_id = batch.client_msg_id',
    batch.flatMap((e) => [e.roomId, e.senderId, e.clientMsgId]),
  );
  for (const row of found) earlier.set(idempotencyKey(Number(row.room_id), row.sender_id, row.client_msg_id), row);

  const insertRow = `${INSERT_MESSAGE} VALUES (${placeholders(9)})`;
  const touched = new Set<number>();
  const outcomes: BatchOutcome[] = [];
  for (const entry of batch) {
    const key = idempotencyKey(entry.roomId, entry.senderId, entry.clientMsgId);
    const original = earlier.get(key);
    const previous = lastSeq.get(entry.roomId);
    if (original) outcomes.push({ original });
    else if (previous === undefined) outcomes.push({ archived: true });
    else {
      const row = newRow(entry, previous + 1, now);
      // One prepared statement per row beats SQLite's multi-row VALUES.
      await query(insertRow, [row.id, row.room_id, row.seq, row.sender_id, row.sender_name, row.client_msg_id, row.text, row.payload, now]);
      lastSeq.set(entry.roomId, previous + 1);
      touched.add(entry.roomId);
      earlier.set(key, row);
      outcomes.push({ seq: previous + 1 });
      if (entry.publishedBy) await query(`${INSERT_AUDIT} VALUES (${placeholders(7)})`, auditValues(entry, row.id, row.seq as number, now));
    }
  }
  if (touched.size > 0) {
    const cases = [...touched].map(() => 'WHEN ? THEN ?').join(' ');
    await query(`UPDATE switchboard_rooms SET last_seq = CASE id ${cases} END WHERE id IN (${placeholders(touched.size)})`, [
      ...[...touched].flatMap((roomId) => [roomId, lastSeq.get(roomId)]),
      ...touched,
    ]);
  }
  return outcomes;
}

/** The columns AuditService.record writes for an actor. */
function auditValues(entry: BatchEntry, messageId: string, seq: number, now: number): unknown[] {
  const actor = entry.publishedBy!;
  return [actor.tenantId, actor.id, actor.tenantId, 'message.publish', `room:${entry.roomName}`, JSON.stringify({ seq, messageId }), now];
}

const placeholders = (count: number) => Array.from({ length: count }, () => '?').join(', ');

/**
 * The batch on PostgreSQL as one statement, which is its own transaction: one
 * round trip instead of six (each waited for a busy event loop to read its
 * answer, and a batch took 60 ms). Every column travels as one array, so the
 * text is the same whatever the batch's size (thousands of parameters cost
 * more to parse and plan than the rows cost to store).
 *
 * The rooms' rows are locked in id order, so nodes sharing the database hand
 * out each room's `seq` without collision or gap (a locked row is read in its
 * latest committed version). Earlier sends of the same `clientMsgId` are
 * looked up in the statement's snapshot, taken before the lock: a resend
 * committed by another node in between makes the insert fail on the unique
 * index, and the statement is run again, finding it.
 */
const STORE_ON_POSTGRES = `
WITH batch AS (
  SELECT * FROM unnest($1::integer[], $2::varchar[], $3::varchar[], $4::varchar[], $5::text[], $6::text[], $7::varchar[], $8::varchar[], $9::varchar[], $10::varchar[])
    WITH ORDINALITY AS b (room_id, sender_id, sender_name, client_msg_id, text, payload, id, room_name, actor_id, actor_tenant_id, ord)
),
locked AS MATERIALIZED (
  SELECT id, last_seq FROM switchboard_rooms WHERE id = ANY($1::integer[]) AND archived_at IS NULL ORDER BY id FOR UPDATE
),
earlier AS MATERIALIZED (
  -- LIMIT keeps the lookup a probe of the unique index per entry: joined, the planner chose
  -- a hash join over the whole table while the table was growing faster than its statistics.
  SELECT m.* FROM (SELECT DISTINCT room_id, sender_id, client_msg_id FROM batch) k
  CROSS JOIN LATERAL (
    SELECT ${MESSAGE_COLUMNS.join(', ')} FROM switchboard_messages
    WHERE room_id = k.room_id AND sender_id = k.sender_id AND client_msg_id = k.client_msg_id LIMIT 1
  ) m
),
numbered AS MATERIALIZED (
  SELECT f.*, l.last_seq + row_number() OVER (PARTITION BY f.room_id ORDER BY f.ord) AS seq
  FROM (
    SELECT DISTINCT ON (b.room_id, b.sender_id, b.client_msg_id) b.* FROM batch b
    WHERE NOT EXISTS (SELECT 1 FROM earlier e WHERE e.room_id = b.room_id AND e.sender_id = b.sender_id AND e.client_msg_id = b.client_msg_id)
    ORDER BY b.room_id, b.sender_id, b.client_msg_id, b.ord
  ) f
  JOIN locked l ON l.id = f.room_id
),
inserted AS (
  ${INSERT_MESSAGE} SELECT id, room_id, seq, sender_id, sender_name, client_msg_id, text, payload, $11 FROM numbered
),
advanced AS (
  UPDATE switchboard_rooms r SET last_seq = n.last_seq FROM (SELECT room_id, max(seq) AS last_seq FROM numbered GROUP BY room_id) n WHERE r.id = n.room_id
),
audited AS (
  ${INSERT_AUDIT}
  SELECT actor_tenant_id, actor_id, actor_tenant_id, 'message.publish', 'room:' || room_name, json_build_object('seq', seq, 'messageId', id)::text, $11
  FROM numbered WHERE actor_id IS NOT NULL
)
SELECT
  ARRAY(SELECT id FROM locked) AS rooms,
  (SELECT json_agg(json_build_array(ord, seq)) FROM numbered) AS stored,
  (SELECT json_agg(earlier) FROM earlier) AS earlier`;

/** The unique index a resend committed by another node while the statement waited for its locks runs into. */
const RESEND_KEY = 'uq_switchboard_messages_room_sender_client_msg';
const UNIQUE_VIOLATION = '23505';
/** Enough for any race: each attempt finds every resend committed before it started. */
const RESEND_RACE_ATTEMPTS = 3;

/** Stores a batch on PostgreSQL in one statement (see STORE_ON_POSTGRES), not inside a transaction of the caller's. */
export async function storeBatchOnPostgres(query: Query, batch: BatchEntry[], now: number): Promise<BatchOutcome[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await storeOnPostgres(query, batch, now);
    } catch (error) {
      const { code, constraint } = error as { code?: string; constraint?: string };
      // Nothing was stored: the statement is its own transaction. Again, the resend is found.
      if (code !== UNIQUE_VIOLATION || constraint !== RESEND_KEY || attempt === RESEND_RACE_ATTEMPTS) throw error;
    }
  }
}

async function storeOnPostgres(query: Query, batch: BatchEntry[], now: number): Promise<BatchOutcome[]> {
  const column = (pick: (entry: BatchEntry) => unknown) => batch.map(pick);
  const [result]: Array<{ rooms: number[]; stored: Array<[number, number]> | null; earlier: MessageRow[] | null }> = await query(STORE_ON_POSTGRES, [
    column((e) => e.roomId),
    column((e) => e.senderId),
    column((e) => e.senderName),
    column((e) => e.clientMsgId),
    column((e) => e.text),
    column((e) => e.payload),
    column((e) => e.id),
    column((e) => e.roomName),
    column((e) => e.publishedBy?.id ?? null),
    column((e) => e.publishedBy?.tenantId ?? null),
    now,
  ]);
  const open = new Set(result.rooms);
  const seqs = new Map(result.stored ?? []);
  const earlier = new Map<string, MessageRow>();
  for (const row of result.earlier ?? []) earlier.set(idempotencyKey(Number(row.room_id), row.sender_id, row.client_msg_id), row);
  return batch.map((entry, index): BatchOutcome => {
    const key = idempotencyKey(entry.roomId, entry.senderId, entry.clientMsgId);
    const original = earlier.get(key);
    if (original) return { original };
    if (!open.has(entry.roomId)) return { archived: true };
    const seq = seqs.get(index + 1);
    // Not stored: a resend of a message earlier in this batch, which is its original.
    if (seq === undefined) throw new Error(`batch entry ${index} was neither stored nor a resend`);
    earlier.set(key, newRow(entry, seq, now));
    return { seq };
  });
}

/**
 * A version 7 UUID (RFC 9562): the time in milliseconds, then random bits.
 * Time-ordered, so that each batch adds to the end of the primary key's index
 * instead of touching a random page of it per message.
 * Made from Node's version 4 UUID, whose random bits come from a pool (16 fresh
 * bytes from the system per id cost 2.6% of the server's CPU in the durable
 * benchmark).
 */
export function timeOrderedUuid(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
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
