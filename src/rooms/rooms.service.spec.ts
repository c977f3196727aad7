import type { Repository } from 'typeorm';
import type { AuditService } from '../audit/audit.service.js';
import { LocalBroker } from '../broker/local-broker.js';
import type { TransactionRunner } from '../database/transaction-runner.service.js';
import { roomKey } from './room-key.js';
import type { RoomEntity } from './room.entity.js';
import { RoomsService } from './rooms.service.js';

type RoomRow = Pick<RoomEntity, 'id' | 'archivedAt'>;

/** A room table of one row whose reads the test answers one by one, as a database that takes its time. */
class SlowRoomTable {
  row: RoomRow = { id: 7, archivedAt: null };
  reads = 0;
  private readonly pending: Array<() => void> = [];

  findOne(): Promise<RoomRow> {
    this.reads++;
    // The row as it is when the read returns, not when it was asked for.
    return new Promise((resolve) => this.pending.push(() => resolve({ ...this.row })));
  }

  /** Answers every read in progress, the newest first, as pooled connections may. */
  answerNewestFirst(): void {
    while (this.pending.length > 0) this.pending.pop()!();
  }

  /** Answers the oldest read in progress (waiting for it to be asked if need be). */
  async answer(): Promise<void> {
    while (this.pending.length === 0) await new Promise((resolve) => setImmediate(resolve));
    this.pending.shift()!();
  }
}

describe('RoomsService room cache', () => {
  let table: SlowRoomTable;
  let broker: LocalBroker;
  let rooms: RoomsService;
  const key = roomKey('acme', 'ops');

  beforeEach(() => {
    table = new SlowRoomTable();
    broker = new LocalBroker();
    rooms = new RoomsService(table as unknown as Repository<RoomEntity>, {} as TransactionRunner, {} as AuditService, broker);
  });

  it('does not keep a row read across an archive: the archive wins, for this lookup and the next', async () => {
    const opening = rooms.open('acme', 'ops');
    // Archived on another node while the first read was on its way, which returns the row as it was before.
    await broker.publishControl({ type: 'room.changed', roomKey: key, archived: true });
    await table.answer();
    table.row = { id: 7, archivedAt: Date.now() };
    await table.answer();
    await expect(opening).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(table.reads).toBe(2);
    // Cached as archived: no read.
    expect(() => rooms.open('acme', 'ops')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(table.reads).toBe(2);
  });

  it('does not keep an archived row read across a restore', async () => {
    table.row = { id: 7, archivedAt: 1 };
    const finding = rooms.find('acme', 'ops');
    await broker.publishControl({ type: 'room.changed', roomKey: key, archived: false });
    // The first read returns the row as it was before the restore; the second as it is now.
    await table.answer();
    table.row = { id: 7, archivedAt: null };
    await table.answer();
    expect(await finding).toMatchObject({ id: 7, archived: false });
    expect(rooms.open('acme', 'ops')).toMatchObject({ id: 7, archived: false });
    expect(table.reads).toBe(2);
  });

  it('opens an uncached room once for the sends that wait for it, which go on in the order they came', async () => {
    const resumed: string[] = [];
    const sends = ['first', 'second'].map((send) => Promise.resolve(rooms.open('acme', 'ops')).then(() => resumed.push(send)));
    await new Promise((resolve) => setImmediate(resolve));
    table.answerNewestFirst();
    await Promise.all(sends);
    expect(resumed).toEqual(['first', 'second']);
    expect(table.reads).toBe(1);
  });

  it('caches a row read with no change announced meanwhile: one read for many lookups', async () => {
    const first = rooms.find('acme', 'ops');
    await table.answer();
    expect(await first).toMatchObject({ id: 7, key, archived: false });
    expect(await rooms.find('acme', 'ops')).toMatchObject({ id: 7 });
    expect(table.reads).toBe(1);
  });

  it('uses the last of three reads uncached while changes keep being announced', async () => {
    const finding = rooms.find('acme', 'ops');
    for (let read = 0; read < 3; read++) {
      while (table.reads <= read) await new Promise((resolve) => setImmediate(resolve));
      await broker.publishControl({ type: 'room.changed', roomKey: key, archived: false });
      await table.answer();
    }
    expect(await finding).toMatchObject({ id: 7, archived: false });
    expect(table.reads).toBe(3);
    // Not cached: the next lookup reads again.
    const again = rooms.find('acme', 'ops');
    await table.answer();
    await again;
    expect(table.reads).toBe(4);
  });
});
