import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { ownDataSourceOptions } from '../database/data-source-options.js';
import { withStorage, type StorageOptions } from '../database/storage-failure.js';
import type { TransactionRunner } from '../database/transaction-runner.service.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { roomKey } from '../rooms/room-key.js';
import type { RoomRecord } from '../rooms/rooms.service.js';
import { idempotencyKey, type MessageRow } from './message-batch.js';
import { MessageWriter, messageFromRow, type NewMessage, type StoredMessage } from './message-writer.service.js';
import { MessageEntity } from './message.entity.js';
import { NothingStoredError } from './sqlite-writer-thread.js';

/**
 * PostgreSQL's side of the batch statement (message-batch.ts), in memory: it
 * stores what is new, finds what was stored before, and can lose its answers
 * after committing, as a connection that times out on the way back does.
 */
class FakePostgres {
  readonly rows = new Map<string, MessageRow>();
  private readonly lastSeq = new Map<number, number>();
  /** The next statements commit, then fail as if their answer never came back. */
  answersToLose = 0;
  /** The next statements fail before they commit anything. */
  failures = 0;
  /** Statements are refused before they reach the database, as the writer thread refuses them while it restarts. */
  refusing = false;
  /** Lookups of sends whose commit failed. */
  lookups = 0;
  /** A text the database refuses (PostgreSQL cannot store NUL): a batch with it fails as a whole, with a data exception. */
  refusedText: string | undefined;
  /** Statements run, failed ones included. */
  statements = 0;
  /** The most statements in progress at once. */
  mostAtOnce = 0;
  private inProgress = 0;
  /** While set, statements wait for it before they run. */
  gate: Promise<void> | null = null;

  readonly query = async (sql: string, params: unknown[]): Promise<unknown[]> => {
    this.mostAtOnce = Math.max(this.mostAtOnce, ++this.inProgress);
    try {
      if (this.gate) await this.gate;
      return this.run(sql, params);
    } finally {
      this.inProgress--;
    }
  };

  private run(_sql: string, params: unknown[]): unknown[] {
    this.statements++;
    if (this.refusing) throw new NothingStoredError('the SQLite writer thread is restarting');
    if (this.failures > 0) {
      this.failures--;
      throw new Error('Connection terminated unexpectedly');
    }
    if (this.refusedText !== undefined && (params[4] as Array<string | null>).includes(this.refusedText)) {
      throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
    }
    const [roomIds, senderIds, senderNames, clientMsgIds, texts, payloads, ids, , , , now] = params as [
      number[], string[], string[], string[], Array<string | null>, Array<string | null>, string[], unknown, unknown, unknown, number,
    ];
    const earlier: MessageRow[] = [];
    const stored: Array<[number, number]> = [];
    roomIds.forEach((roomId, index) => {
      const key = idempotencyKey(roomId, senderIds[index], clientMsgIds[index]);
      const found = this.rows.get(key);
      if (found) return void earlier.push(found);
      const seq = (this.lastSeq.get(roomId) ?? 0) + 1;
      this.lastSeq.set(roomId, seq);
      this.rows.set(key, {
        id: ids[index],
        room_id: roomId,
        seq: String(seq),
        sender_id: senderIds[index],
        sender_name: senderNames[index],
        client_msg_id: clientMsgIds[index],
        text: texts[index],
        payload: payloads[index],
        sent_at: String(now),
        edited_at: null,
        deleted_at: null,
      });
      stored.push([index + 1, seq]);
    });
    if (this.answersToLose > 0) {
      this.answersToLose--;
      throw new Error('Query read timeout');
    }
    return [{ rooms: [...new Set(roomIds)], stored: stored.length > 0 ? stored : null, earlier: earlier.length > 0 ? earlier : null }];
  }

  /** What `manager.findOne(MessageEntity, {where: {roomId, senderId, clientMsgId}})` finds. */
  find(where: { roomId: number; senderId: string; clientMsgId: string }): MessageEntity | null {
    this.lookups++;
    const row = this.rows.get(idempotencyKey(where.roomId, where.senderId, where.clientMsgId));
    return row ? messageFromRow(row) : null;
  }
}

/** A writer storing its batches in `database`, as on a PostgreSQL of the module's own unless `options` says otherwise (a SQLite file: on the writer thread). */
function writerOn(
  database: FakePostgres,
  options: ResolvedRealtimeOptions['database'] = { type: 'postgres', url: 'postgres://unused' },
  /** Where the messages of each committed transaction are counted (switchboard_db_batch_size). */
  committed: number[] = [],
): MessageWriter {
  const logger = new Logger('test');
  const transactions = {
    isPostgres: !('type' in options && options.type === 'sqlite'),
    statements: (work: (query: FakePostgres['query']) => Promise<unknown>, options?: StorageOptions) => withStorage(logger, () => work(database.query), options),
    run: (work: (manager: unknown) => Promise<unknown>, options?: StorageOptions) =>
      withStorage(logger, () => work({ findOne: async (_entity: unknown, { where }: { where: Parameters<FakePostgres['find']>[0] }) => database.find(where) }), options),
  } as unknown as TransactionRunner;
  const metrics = { batchSize: { observe: (messages: number) => committed.push(messages) }, batchSeconds: { startTimer: () => () => undefined } } as unknown as RealtimeMetrics;
  return new MessageWriter(transactions, { database: options, websocket: { shutdownTimeoutMs: 1000 } } as ResolvedRealtimeOptions, metrics);
}

const room: RoomRecord = { id: 7, tenantId: 'acme', name: 'ops', key: roomKey('acme', 'ops'), archived: false };
const message = (clientMsgId: string): NewMessage => ({ room, sender: { id: 'ann', name: 'Ann' }, clientMsgId, text: clientMsgId, payload: null });

/**
 * A writer on the writer thread (it runs from the build), on a SQLite file with the module's migrations whose room `room`
 * refuses the texts that start with `bad` as a constraint would. `otherConnection`: another connection to the file.
 */
async function onWriterThreadRefusingBad(committed?: number[]): Promise<{ writer: MessageWriter; otherConnection: Database.Database; remove(): Promise<void> }> {
  const folder = mkdtempSync(join(tmpdir(), 'switchboard-refusing-'));
  const path = join(folder, 'db.sqlite');
  const dataSource = await new DataSource(ownDataSourceOptions({ type: 'sqlite', path })).initialize();
  await dataSource.runMigrations();
  await dataSource.destroy();
  const otherConnection = new Database(path);
  otherConnection.prepare('INSERT INTO switchboard_rooms (id, tenant_id, name, created_at) VALUES (?, ?, ?, 0)').run(room.id, room.tenantId, room.name);
  otherConnection.exec("CREATE TRIGGER refuse_bad BEFORE INSERT ON switchboard_messages WHEN NEW.text LIKE 'bad%' BEGIN SELECT RAISE(ABORT, 'refused'); END");
  const writer = writerOn(new FakePostgres(), { type: 'sqlite', path }, committed);
  const remove = async () => {
    await writer.onApplicationShutdown();
    otherConnection.close();
    rmSync(folder, { recursive: true, force: true });
  };
  return { writer, otherConnection, remove };
}

describe('MessageWriter, when a commit fails on the way', () => {
  let database: FakePostgres;
  let writer: MessageWriter;
  /** Every announcement: what members and host code are told, in order. */
  let announced: Array<{ clientMsgId: string; seq: number; announced: boolean }>;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    database = new FakePostgres();
    writer = writerOn(database);
    announced = [];
    writer.onCommitted((stored: StoredMessage[]) =>
      announced.push(...stored.map(({ message, announced }) => ({ clientMsgId: message.clientMsgId, seq: message.seq, announced }))),
    );
  });

  afterEach(async () => {
    await writer.onApplicationShutdown();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('answers every send of a batch whose commit lost its answer at once, without trying each alone, and makes each news once found', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    database.answersToLose = 1;
    // Written in one turn: one batch, which commits and loses its answer.
    const answers = await Promise.all(['a', 'b', 'c'].map((id) => writer.write(message(id)).catch((error: { code: string }) => error.code)));
    expect(answers).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
    expect(database.statements).toBe(1);
    await jest.advanceTimersByTimeAsync(70_000);
    expect(announced).toEqual([
      { clientMsgId: 'a', seq: 1, announced: false },
      { clientMsgId: 'b', seq: 2, announced: false },
      { clientMsgId: 'c', seq: 3, announced: false },
    ]);
  });

  it('stores the others of a batch without the one message the database refuses', async () => {
    database.refusedText = 'bad';
    const answers = await Promise.all(['good', 'bad', 'fine'].map((id) => writer.write(message(id)).then(({ message }) => message.seq, (error: { code: string }) => error.code)));
    expect(answers).toEqual([1, 'UNAVAILABLE', 2]);
    // The batch, then each alone.
    expect(database.statements).toBe(4);
  });

  it('does not look for a message the database refused alone in its batch: its statement stored nothing', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    database.refusedText = 'bad';
    await expect(writer.write(message('bad'))).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'the database refused the message; it was not stored' });
    await jest.advanceTimersByTimeAsync(70_000);
    expect(database.lookups).toBe(0);
  });

  it('makes the original news when the sender resends a send whose commit happened, and stops looking for it', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    database.answersToLose = 1;
    await expect(writer.write(message('a'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const resent = await writer.write(message('a'));
    expect({ seq: resent.message.seq, duplicate: resent.duplicate }).toEqual({ seq: 1, duplicate: true });
    await jest.advanceTimersByTimeAsync(70_000);
    expect(announced).toEqual([{ clientMsgId: 'a', seq: 1, announced: false }]);
  });

  it('announces a send whose commit happened once it finds it, as news', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    database.answersToLose = 1;
    await expect(writer.write(message('a'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(announced).toEqual([]);
    await jest.advanceTimersByTimeAsync(70_000);
    expect(announced).toEqual([{ clientMsgId: 'a', seq: 1, announced: false }]);
  });

  it('makes news of a send whose commit happened when its resend fails on the way too', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    database.answersToLose = 2;
    await expect(writer.write(message('a'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(writer.write(message('a'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await jest.advanceTimersByTimeAsync(70_000);
    expect(announced).toEqual([{ clientMsgId: 'a', seq: 1, announced: false }]);
  });

  it('stops looking for a send whose commit did not happen once its resend is stored', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    database.failures = 1;
    await expect(writer.write(message('a'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const resent = await writer.write(message('a'));
    expect({ seq: resent.message.seq, duplicate: resent.duplicate }).toEqual({ seq: 1, duplicate: false });
    await jest.advanceTimersByTimeAsync(70_000);
    expect(announced).toEqual([{ clientMsgId: 'a', seq: 1, announced: false }]);
  });

  it('does not make news again of a message stored before, when a resend of it fails on the way', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    expect((await writer.write(message('a'))).duplicate).toBe(false);
    database.answersToLose = 1;
    await expect(writer.write(message('a'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await jest.advanceTimersByTimeAsync(70_000);
    // Found by the look, and delivered again (members drop a seq they have), but not news.
    expect(announced).toEqual([
      { clientMsgId: 'a', seq: 1, announced: false },
      { clientMsgId: 'a', seq: 1, announced: true },
    ]);
  });

  it('does not look for sends refused before they reached the database, which would push out those really in doubt', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    database.answersToLose = 1;
    await expect(writer.write(message('in-doubt'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    database.refusing = true;
    const refused = await Promise.all(Array.from({ length: 1000 }, (_, index) => writer.write(message(`refused-${index}`)).catch((error: { code: string }) => error.code)));
    expect(new Set(refused)).toEqual(new Set(['UNAVAILABLE']));
    database.refusing = false;
    await jest.advanceTimersByTimeAsync(70_000);
    expect(announced).toEqual([{ clientMsgId: 'in-doubt', seq: 1, announced: false }]);
    expect(database.lookups).toBe(1);
  });
});

describe('MessageWriter on PostgreSQL, batches in flight', () => {
  const inRooms = (writer: MessageWriter, database: FakePostgres) => async () => {
    let open!: () => void;
    database.gate = new Promise((resolve) => (open = resolve));
    // Rooms 1, 2 and 3 fall in three partitions when there are three.
    const sends = [1, 2, 3].map((id) => writer.write({ ...message(`m${id}`), room: { ...room, id } }));
    await new Promise((resolve) => setImmediate(resolve));
    open();
    await Promise.all(sends);
    await writer.onApplicationShutdown();
    return database.mostAtOnce;
  };

  it("leave a connection of the pool free: as many as the module's pool allows, at most three", async () => {
    const database = new FakePostgres();
    expect(await inRooms(writerOn(database), database)()).toBe(3);
    const small = new FakePostgres();
    expect(await inRooms(writerOn(small, { type: 'postgres', url: 'postgres://unused', poolSize: 2 }), small)()).toBe(1);
  });

  it("count the connections of a host's DataSource, as TypeORM gives them to pg", async () => {
    const host = (options: object) => ({ dataSource: { options: { type: 'postgres', ...options } } }) as unknown as ResolvedRealtimeOptions['database'];
    for (const [options, expected] of [[{ poolSize: 2 }, 1], [{ poolSize: 20, extra: { max: 3 } }, 2], [{}, 3]] as const) {
      const database = new FakePostgres();
      expect(await inRooms(writerOn(database, host(options)), database)()).toBe(expected);
    }
  });
});

describe("MessageWriter, a sender's messages in a room, when the database refuses one of a batch", () => {
  /** What each send was answered: its seq, or the error's code. */
  const answerTo = (clientMsgId: string, writer: MessageWriter) =>
    writer.write(message(clientMsgId)).then(({ message: stored }) => stored.seq, (error: { code: string }) => error.code);
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('are numbered in the order they were sent on the writer thread, whose other batch in flight is stored meanwhile', async () => {
    const { writer, otherConnection, remove } = await onWriterThreadRefusingBad();
    try {
      // The write lock held elsewhere keeps the first batch on the thread until the second is posted behind it.
      otherConnection.exec('BEGIN IMMEDIATE');
      const first = ['a1', 'bad'].map((id) => answerTo(id, writer));
      await nextTurn();
      const second = answerTo('a2', writer);
      // Time for the second batch to reach the thread.
      await new Promise((resolve) => setTimeout(resolve, 50));
      otherConnection.exec('ROLLBACK');
      expect(await Promise.all([...first, second])).toEqual([1, 'UNAVAILABLE', 2]);
    } finally {
      await remove();
    }
  });

  it('are numbered in the order they were sent on PostgreSQL, where the sends queued behind the batch wait for it', async () => {
    const database = new FakePostgres();
    const writer = writerOn(database);
    database.refusedText = 'bad';
    let open!: () => void;
    database.gate = new Promise((resolve) => (open = resolve));
    const first = ['a1', 'bad'].map((id) => answerTo(id, writer));
    await nextTurn();
    const second = answerTo('a2', writer);
    await nextTurn();
    open();
    expect(await Promise.all([...first, second])).toEqual([1, 'UNAVAILABLE', 2]);
    await writer.onApplicationShutdown();
  });
});

describe('MessageWriter, logging a message the database refuses', () => {
  /** What was logged, as `level: line`, by the writer and by withStorage. */
  let logged: string[];
  /** Fake time, past every log line of the tests before: the throttles are process-wide. */
  let fakeNow = Date.now() + 3_600_000;
  const refusedNul = 'warn: message refused by the database: invalid byte sequence for encoding "UTF8": 0x00 (22021)';
  /** A test's first line of each kind: it may count the repeats the tests before left out ("(3 more ... since the last report)"). */
  const first = (line: string) => expect.stringContaining(line);

  beforeEach(() => {
    logged = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((line: unknown) => void logged.push(`error: ${String(line)}`));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((line: unknown) => void logged.push(`warn: ${String(line)}`));
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    jest.setSystemTime((fakeNow += 60_000));
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('logs a message refused alone as a refusal, and an outage right after it as a storage failure, not held back', async () => {
    const database = new FakePostgres();
    const writer = writerOn(database);
    database.refusedText = 'bad';
    await expect(writer.write(message('bad'))).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'the database refused the message; it was not stored' });
    database.failures = 1;
    await expect(writer.write(message('a'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(logged).toEqual([first(refusedNul), first('error: storage failed: Connection terminated unexpectedly')]);
    await writer.onApplicationShutdown();
  });

  it('logs the one refused message of a batch stored one by one, and not the failure of the batch as an outage', async () => {
    const database = new FakePostgres();
    const committed: number[] = [];
    const writer = writerOn(database, undefined, committed);
    database.refusedText = 'bad';
    const answers = await Promise.all(['good', 'bad', 'fine'].map((id) => writer.write(message(id)).then(() => 'stored', (error: { code: string }) => error.code)));
    expect(answers).toEqual(['stored', 'UNAVAILABLE', 'stored']);
    expect(logged).toEqual([first(refusedNul)]);
    // The batch, then each of its messages alone; two of those commits.
    expect(database.statements).toBe(4);
    expect(committed).toEqual([1, 1]);
    await writer.onApplicationShutdown();
  });

  it('counts the messages of each committed batch once', async () => {
    const database = new FakePostgres();
    const committed: number[] = [];
    const writer = writerOn(database, undefined, committed);
    await Promise.all(['a', 'b', 'c'].map((id) => writer.write(message(id))));
    database.failures = 1;
    await expect(writer.write(message('d'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(committed).toEqual([3]);
    await writer.onApplicationShutdown();
  });

  it('summarises refusals on their own throttle, which an outage in between neither resets nor hides', async () => {
    const database = new FakePostgres();
    const writer = writerOn(database);
    database.refusedText = 'bad';
    const refuse = (clientMsgId: string) => expect(writer.write({ ...message(clientMsgId), text: 'bad' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await refuse('r1');
    database.failures = 1;
    await expect(writer.write(message('a'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await refuse('r2');
    await refuse('r3');
    await jest.advanceTimersByTimeAsync(5000);
    await refuse('r4');
    expect(logged).toEqual([
      first(refusedNul),
      first('error: storage failed: Connection terminated unexpectedly'),
      `${refusedNul} (2 more refusals since the last report)`,
    ]);
    await writer.onApplicationShutdown();
  });

  it('logs the refusals of the writer thread, alone in a batch or among others, as refusals', async () => {
    // The thread answers in real time: only the clock is moved, past every log line before, then past the first refusal's.
    jest.useRealTimers();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(fakeNow);
    const committed: number[] = [];
    const { writer, remove } = await onWriterThreadRefusingBad(committed);
    try {
      await expect(writer.write(message('bad-alone'))).rejects.toMatchObject({ message: 'the database refused the message; it was not stored' });
      clock.mockReturnValue((fakeNow += 60_000));
      const amongOthers = ['a1', 'bad-among-others', 'a2'].map((id) => writer.write(message(id)).then(() => 'stored', (error: Error) => error.message));
      expect(await Promise.all(amongOthers)).toEqual(['stored', 'the database refused the message; it was not stored', 'stored']);
      const refused = 'warn: message refused by the database: refused (SQLITE_CONSTRAINT_TRIGGER)';
      expect(logged).toEqual([first(refused), refused]);
      // The thread counts its own transactions, without the refused messages; the writer adds nothing.
      expect(committed).toEqual([2]);
    } finally {
      await remove();
    }
  });
});
