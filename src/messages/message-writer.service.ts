import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { postgresPoolSize, sqliteSynchronous } from '../database/data-source-options.js';
import { messageRefusals, withStorage, type Failure, type StorageOptions } from '../database/storage-failure.js';
import { TransactionRunner } from '../database/transaction-runner.service.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { ErrorCode, RealtimeError } from '../protocol/error-codes.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import type { RoomRecord } from '../rooms/rooms.service.js';
import { MessageEntity } from './message.entity.js';
import { idempotencyKey, isOneMessageFailure, sqliteQuery, storeBatch, storeBatchOnPostgres, timeOrderedUuid, type BatchEntry, type BatchOutcome, type MessageRow, type Query, type SqliteConnection } from './message-batch.js';
import { SqliteWriterThread } from './sqlite-writer-thread.js';

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
  /** Members and host code were told of it before: a resend of a message announced when it was stored. */
  announced: boolean;
}

interface PendingWrite {
  message: NewMessage;
  /** Its `messageId` (BatchEntry.id): a row with it was stored by this send's commit, even one that failed on the way. */
  id: string;
  resolve(stored: StoredMessage): void;
  reject(error: Error): void;
}

/** A send whose commit failed on the way, looked for (see lookForStored). */
interface InDoubt {
  timer: NodeJS.Timeout;
  /** The `messageId`s of its tries whose commits failed on the way (a resend may fail too): a row with one was never announced. */
  ids: Set<string>;
}

interface Partition {
  queue: PendingWrite[];
  lanes: Set<Promise<void>>;
}

/** The most messages one transaction stores. */
const MAX_BATCH = 256;
/** Sends waiting for the database beyond this are refused at once (UNAVAILABLE) instead of queuing without bound. */
const MAX_QUEUE = 10_000;
/** PostgreSQL transactions of message batches at once, per node. */
const POSTGRES_BATCHES_IN_FLIGHT = 3;
/** After the SQLite writer thread dies, sends answer UNAVAILABLE for this long before a new thread is started. */
const WRITER_THREAD_RESTART_DELAY_MS = 1000;
/** How long a batch waits for another connection's write lock on SQLite (the writer thread may block; the event loop may not). */
const SQLITE_BUSY_TIMEOUT_MS = 5000;
/** A send whose commit failed is looked for after 1 s, then 2, 4, ... 32 s (a minute in all). */
const IN_DOUBT_FIRST_LOOK_MS = 1000;
const IN_DOUBT_LOOKS = 6;
/** Sends looked for at once; during a long outage the oldest are given up (their senders were answered UNAVAILABLE). */
const IN_DOUBT_MAX = 1000;

/**
 * Group commit: sends that arrive while a transaction is in flight are stored
 * together by the next one (see message-batch.ts), and each is acknowledged
 * only after its batch is committed. On the module's own SQLite file the
 * batches are committed by a writer thread, off the event loop; on
 * PostgreSQL a few batches are committed at once.
 */
@Injectable()
export class MessageWriter implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeMessageWriter');
  /** Each room's sends queue in one partition, by room id, and keep their order there. */
  private readonly partitions: Partition[];
  /** Loops per partition that take batches from its queue and commit them, each one batch at a time. */
  private readonly lanesPerPartition: number;
  /** Sends waiting in every partition's queue. */
  private queued = 0;
  private readonly committedListeners: Array<(messages: StoredMessage[]) => void> = [];
  private readonly thread: SqliteWriterThread | null;
  /** Sends whose commit failed, being looked for (see lookForStored), by idempotency key. */
  private readonly inDoubt = new Map<string, InDoubt>();

  constructor(
    private readonly transactions: TransactionRunner,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly metrics: RealtimeMetrics,
  ) {
    const database = options.database;
    this.thread =
      'type' in database && database.type === 'sqlite' && database.writerThread !== false
        ? new SqliteWriterThread(
            {
              path: database.path,
              synchronous: sqliteSynchronous(database),
              busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS,
              restartDelayMs: WRITER_THREAD_RESTART_DELAY_MS,
            },
            (messages) => metrics.batchSize.observe(messages),
          )
        : null;
    // Batches in flight at once. The writer thread commits one while the next is gathered and
    // handed over. PostgreSQL commits several on pooled connections, each waiting for the disk,
    // leaving a connection of the pool free for everything else; a batch locks its rooms' rows,
    // so each of those batches takes its rooms from its own partition (batches from one queue
    // touched the same rooms and waited for each other's commits). On TypeORM's single SQLite
    // connection transactions run one at a time anyway.
    const partitions = this.transactions.isPostgres ? Math.max(1, Math.min(POSTGRES_BATCHES_IN_FLIGHT, postgresPoolSize(database) - 1)) : 1;
    this.partitions = Array.from({ length: partitions }, () => ({ queue: [], lanes: new Set() }));
    this.lanesPerPartition = this.thread ? 2 : 1;
  }

  write(message: NewMessage): Promise<StoredMessage> {
    if (this.queued >= MAX_QUEUE) {
      return Promise.reject(RealtimeError.unavailable('storage is not keeping up; the message was not stored'));
    }
    const partition = this.partitions[message.room.id % this.partitions.length];
    return new Promise<StoredMessage>((resolve, reject) => {
      partition.queue.push({ message, id: timeOrderedUuid(), resolve, reject });
      this.queued++;
      if (partition.lanes.size < this.lanesPerPartition) this.startLane(partition);
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
    for (;;) {
      const lanes = this.partitions.flatMap((partition) => [...partition.lanes]);
      if (lanes.length === 0 || Date.now() >= deadline) return;
      await Promise.race([Promise.all(lanes), new Promise((resolve) => setTimeout(resolve, deadline - Date.now()).unref())]);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const { timer } of this.inDoubt.values()) clearTimeout(timer);
    this.inDoubt.clear();
    await this.thread?.close();
  }

  private startLane(partition: Partition): void {
    const lane: Promise<void> = this.drain(partition).finally(() => {
      partition.lanes.delete(lane);
      // A send queued while the last lanes were finishing.
      if (partition.queue.length > 0 && partition.lanes.size < this.lanesPerPartition) this.startLane(partition);
    });
    partition.lanes.add(lane);
  }

  private async drain(partition: Partition): Promise<void> {
    // Let the sends already read from sockets in this turn join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (partition.queue.length > 0) {
      const batch = partition.queue.splice(0, MAX_BATCH);
      this.queued -= batch.length;
      await this.commit(batch);
    }
  }

  private async commit(batch: PendingWrite[]): Promise<void> {
    let results: Array<StoredMessage | RealtimeError>;
    const timer = this.metrics.batchSeconds.startTimer();
    try {
      results = await this.store(batch);
      timer();
      // The writer thread counts its own transactions, which may take in several batches.
      if (!this.thread) this.metrics.batchSize.observe(batch.length);
    } catch (error) {
      if (causedByOneMessage(error)) {
        // Alone in its batch, it was rolled back: answered and logged as the writer thread's refusals are, not looked for.
        if (batch.length === 1) return batch[0].reject(this.refusedByDatabase(driverError(error)!));
        // One message the database refuses must not sink the others: store them one by one, before anything queued
        // after them for the same rooms (this is the partition's only lane; the writer thread, with two, does this itself).
        for (const pending of batch) await this.commit([pending]);
        return;
      }
      // The database's own failure (a lock, a timeout, a lost connection, a stopped thread): tried one by
      // one, each would wait as long again. Every send of the batch is answered now.
      const refusal = error instanceof RealtimeError ? error : RealtimeError.unavailable('the message could not be stored; it was not sent');
      const inDoubt = refusal.code === ErrorCode.UNAVAILABLE && !nothingStored(error);
      for (const pending of batch) {
        if (inDoubt) this.lookForStored(pending.message, pending.id);
        pending.reject(refusal);
      }
      return;
    }
    if (this.inDoubt.size > 0) for (const result of results) if (!(result instanceof RealtimeError)) this.recognise(result);
    const stored = results.filter((r): r is StoredMessage => !(r instanceof RealtimeError));
    this.announce(stored);
    batch.forEach((pending, index) => {
      const result = results[index];
      if (result instanceof RealtimeError) pending.reject(result);
      else pending.resolve(result);
    });
  }

  /**
   * A resend stored (or found) here ends the search for its first tries. An
   * original it found that one of them stored was never announced.
   */
  private recognise(stored: StoredMessage): void {
    const { message } = stored;
    const key = idempotencyKey(message.roomId, message.senderId, message.clientMsgId);
    const lookedFor = this.inDoubt.get(key);
    if (!lookedFor) return;
    this.stopLooking(key);
    if (stored.duplicate && lookedFor.ids.has(message.id)) stored.announced = false;
  }

  private announce(stored: StoredMessage[]): void {
    for (const listener of this.committedListeners) {
      try {
        listener(stored);
      } catch (error) {
        this.logger.error(`announcing stored messages: ${(error as Error).message}`, (error as Error).stack);
      }
    }
  }

  /**
   * A commit that failed on the way (a timeout, a lost connection, a hung
   * database) may still have happened: the sender was answered UNAVAILABLE,
   * but the members would never receive a message stored all the same. It is
   * looked for by its idempotency key for a minute, and delivered if found.
   * `id`: the send's `messageId`.
   */
  private lookForStored(message: NewMessage, id: string): void {
    const key = idempotencyKey(message.room.id, message.sender.id, message.clientMsgId);
    const ids = this.inDoubt.get(key)?.ids ?? new Set<string>();
    ids.add(id);
    this.lookFor(message, key, ids, 1);
  }

  private lookFor(message: NewMessage, key: string, ids: Set<string>, look: number): void {
    if (look > IN_DOUBT_LOOKS) return this.stopLooking(key);
    if (look === 1 && this.inDoubt.size >= IN_DOUBT_MAX) this.stopLooking(this.inDoubt.keys().next().value as string);
    const timer = setTimeout(async () => {
      let row: MessageEntity | null = null;
      try {
        row = await this.transactions.run((manager) =>
          manager.findOne(MessageEntity, { where: { roomId: message.room.id, senderId: message.sender.id, clientMsgId: message.clientMsgId } }),
        );
      } catch {
        // The database is still away: look again later.
      }
      // A resend answered the doubt while this look was under way.
      if (this.inDoubt.get(key)?.timer !== timer) return;
      // Not (yet) there: a commit held up in a hung database may still land.
      if (!row) return this.lookFor(message, key, ids, look + 1);
      this.stopLooking(key);
      // Stored before (the send was a resend) or by another node's resend: announced there and then.
      const announced = !ids.has(row.id);
      this.announce([{ room: message.room, message: row, payload: null, duplicate: announced, announced }]);
    }, IN_DOUBT_FIRST_LOOK_MS * 2 ** (look - 1));
    timer.unref();
    clearTimeout(this.inDoubt.get(key)?.timer);
    this.inDoubt.set(key, { timer, ids });
  }

  private stopLooking(key: string): void {
    clearTimeout(this.inDoubt.get(key)?.timer);
    this.inDoubt.delete(key);
  }

  private async store(batch: PendingWrite[]): Promise<Array<StoredMessage | RealtimeError>> {
    const entries = batch.map(toBatchEntry);
    const now = Date.now();
    const thread = this.thread;
    const outcomes: BatchOutcome[] = thread
      ? await withStorage(this.logger, () => thread.store(entries, now), LEAVE_REFUSALS_TO_COMMIT)
      : this.transactions.isPostgres
        ? await this.transactions.statements((query) => storeBatchOnPostgres(query, entries, now), LEAVE_REFUSALS_TO_COMMIT)
        : await this.transactions.run((manager) => storeBatch(this.sqliteQueryOn(manager), entries, now), LEAVE_REFUSALS_TO_COMMIT);
    return outcomes.map((outcome, index) => {
      const { room, payload } = batch[index].message;
      if ('archived' in outcome) return RealtimeError.notFound(`room ${room.name} is archived`);
      if ('refused' in outcome) return this.refusedByDatabase(outcome.refused);
      if ('original' in outcome) return { room, message: messageFromRow(outcome.original), payload: null, duplicate: true, announced: true };
      return { room, message: messageFromEntry(entries[index], outcome, now), payload, duplicate: false, announced: false };
    });
  }

  /**
   * A message the database refused for its data, rolled back (alone, or in its savepoint on the writer thread): certainly
   * not stored. Logged as a refusal: the database is fine, and an outage's first log line must not wait behind these.
   */
  private refusedByDatabase(refusal: Failure): RealtimeError {
    messageRefusals.report(this.logger, refusal);
    return messageRefused();
  }

  /** Straight on the transaction's better-sqlite3 connection, with cached prepared statements. */
  private sqliteQueryOn(manager: EntityManager): Query {
    return sqliteQuery((manager.connection.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection);
  }
}

/** A message the database refused for its data (a constraint, a data exception): rolled back, nothing stored. */
const messageRefused = () => RealtimeError.unavailable('the database refused the message; it was not stored');

/** The driver's (or the writer thread's) own error, which withStorage keeps as the cause of its UNAVAILABLE. */
function driverError(error: unknown): (Failure & { nothingStored?: unknown }) | undefined {
  return (error instanceof RealtimeError ? error.cause : error) as (Failure & { nothingStored?: unknown }) | undefined;
}

/** A failure the data of one message may have caused, rather than the database's own: the others are worth trying without it. */
function causedByOneMessage(error: unknown): boolean {
  return isOneMessageFailure(driverError(error)?.code);
}

/**
 * A failure one message may have caused is not logged by withStorage as the database's: commit() stores the batch's messages
 * one by one and logs the one the database refuses alone as a refusal (refusedByDatabase).
 */
const LEAVE_REFUSALS_TO_COMMIT: StorageOptions = { reportedByCaller: causedByOneMessage };

/** Refused before reaching the database (NothingStoredError): no commit to look for. */
function nothingStored(error: unknown): boolean {
  return driverError(error)?.nothingStored === true;
}

function toBatchEntry({ message, id }: PendingWrite): BatchEntry {
  const entry: BatchEntry = {
    id,
    roomId: message.room.id,
    roomName: message.room.name,
    senderId: message.sender.id,
    senderName: message.sender.name,
    clientMsgId: message.clientMsgId,
    text: message.text,
    payload: message.payload === null ? null : JSON.stringify(message.payload),
  };
  if (message.publishedBy) entry.publishedBy = { id: message.publishedBy.id, tenantId: message.publishedBy.tenantId };
  return entry;
}

function messageFromEntry(entry: BatchEntry, { seq }: { seq: number }, sentAt: number): MessageEntity {
  return Object.assign(new MessageEntity(), {
    id: entry.id,
    roomId: entry.roomId,
    seq,
    senderId: entry.senderId,
    senderName: entry.senderName,
    clientMsgId: entry.clientMsgId,
    text: entry.text,
    payload: entry.payload,
    sentAt,
    editedAt: null,
    deletedAt: null,
  });
}

/** PostgreSQL returns bigint columns as strings. */
const optionalNumber = (value: number | string | null) => (value === null ? null : Number(value));

export function messageFromRow(row: MessageRow): MessageEntity {
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
