import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { withStorage } from '../database/storage-failure.js';
import type { TransactionRunner } from '../database/transaction-runner.service.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { roomKey } from '../rooms/room-key.js';
import type { RoomRecord } from '../rooms/rooms.service.js';
import { idempotencyKey, type MessageRow } from './message-batch.js';
import { MessageWriter, messageFromRow, type NewMessage, type StoredMessage } from './message-writer.service.js';
import { MessageEntity } from './message.entity.js';

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
  /** A text the database refuses (PostgreSQL cannot store NUL): a batch with it fails as a whole, with a data exception. */
  refusedText: string | undefined;
  /** Statements run, failed ones included. */
  statements = 0;

  readonly query = async (_sql: string, params: unknown[]): Promise<unknown[]> => {
    this.statements++;
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
  };

  /** What `manager.findOne(MessageEntity, {where: {roomId, senderId, clientMsgId}})` finds. */
  find(where: { roomId: number; senderId: string; clientMsgId: string }): MessageEntity | null {
    const row = this.rows.get(idempotencyKey(where.roomId, where.senderId, where.clientMsgId));
    return row ? messageFromRow(row) : null;
  }
}

const room: RoomRecord = { id: 7, tenantId: 'acme', name: 'ops', key: roomKey('acme', 'ops'), archived: false };
const message = (clientMsgId: string): NewMessage => ({ room, sender: { id: 'ann', name: 'Ann' }, clientMsgId, text: clientMsgId, payload: null });

describe('MessageWriter, when a commit fails on the way', () => {
  let database: FakePostgres;
  let writer: MessageWriter;
  /** Every announcement: what members and host code are told, in order. */
  let announced: Array<{ clientMsgId: string; seq: number; announced: boolean }>;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    database = new FakePostgres();
    const logger = new Logger('test');
    const transactions = {
      isPostgres: true,
      statements: (work: (query: FakePostgres['query']) => Promise<unknown>) => withStorage(logger, () => work(database.query)),
      run: (work: (manager: unknown) => Promise<unknown>) =>
        withStorage(logger, () => work({ findOne: async (_entity: unknown, { where }: { where: Parameters<FakePostgres['find']>[0] }) => database.find(where) })),
    } as unknown as TransactionRunner;
    const options = { database: { type: 'postgres', url: 'postgres://unused' }, websocket: { shutdownTimeoutMs: 1000 } } as ResolvedRealtimeOptions;
    const metrics = { batchSize: { observe: () => undefined }, batchSeconds: { startTimer: () => () => undefined } } as unknown as RealtimeMetrics;
    writer = new MessageWriter(transactions, options, metrics);
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
});
