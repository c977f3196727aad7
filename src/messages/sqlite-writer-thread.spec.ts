import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { DataSource } from 'typeorm';
import { ownDataSourceOptions } from '../database/data-source-options.js';
import { timeOrderedUuid, type BatchEntry, type BatchOutcome } from './message-batch.js';
import { SqliteWriterThread } from './sqlite-writer-thread.js';

// The writer thread on a real SQLite file with the module's migrations (the worker runs from the build).
describe('SqliteWriterThread', () => {
  let folder: string;
  let path: string;
  let thread: SqliteWriterThread;
  /** The messages of each transaction the thread committed. */
  let commits: number[];
  let reader: Database.Database;

  const entry = (roomId: number, clientMsgId: string, text = 'hi'): BatchEntry => ({
    id: timeOrderedUuid(),
    roomId,
    roomName: `room-${roomId}`,
    senderId: 'alice',
    senderName: 'Alice',
    clientMsgId,
    text,
    payload: null,
  });
  const storedOf = (outcome: BatchOutcome): { seq: number } => {
    if (!('seq' in outcome)) throw new Error(`not stored: ${JSON.stringify(outcome)}`);
    return outcome;
  };

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), 'switchboard-writer-'));
    path = join(folder, 'db.sqlite');
    const dataSource = await new DataSource(ownDataSourceOptions({ type: 'sqlite', path })).initialize();
    await dataSource.runMigrations();
    await dataSource.destroy();
    reader = new Database(path);
    const insertRoom = reader.prepare("INSERT INTO switchboard_rooms (tenant_id, name, created_at, archived_at) VALUES ('', ?, 0, ?)");
    insertRoom.run('room-1', null);
    insertRoom.run('room-2', null);
    insertRoom.run('room-3', 1);
    commits = [];
    thread = new SqliteWriterThread({ path, synchronous: 'FULL', busyTimeoutMs: 200, restartDelayMs: 300 }, (messages) => commits.push(messages));
  });

  afterEach(async () => {
    await thread.close();
    reader.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('stores a batch with gap-free seq per room, finds resends, and refuses archived rooms', async () => {
    const first = [entry(1, 'a'), entry(2, 'b'), entry(1, 'c'), entry(1, 'a'), entry(3, 'd')];
    const outcomes = await thread.store(first, 1000);
    expect(outcomes.slice(0, 3).map((o) => storedOf(o).seq)).toEqual([1, 1, 2]);
    expect(outcomes[3]).toEqual({ original: expect.objectContaining({ id: first[0].id, seq: 1 }) });
    expect(outcomes[4]).toEqual({ archived: true });

    const second = [entry(1, 'a'), entry(1, 'e')];
    const next = await thread.store(second, 2000);
    expect(next[0]).toEqual({ original: expect.objectContaining({ id: first[0].id, seq: 1, sent_at: 1000 }) });
    expect(storedOf(next[1]).seq).toBe(3);

    // Committed, under the ids the entries came with: another connection reads them.
    expect(reader.prepare('SELECT id, seq, sent_at FROM switchboard_messages WHERE room_id = 1 ORDER BY seq').all()).toEqual([
      { id: first[0].id, seq: 1, sent_at: 1000 },
      { id: first[2].id, seq: 2, sent_at: 1000 },
      { id: second[1].id, seq: 3, sent_at: 2000 },
    ]);
    expect(reader.prepare('SELECT last_seq FROM switchboard_rooms WHERE id = 1').get()).toEqual({ last_seq: 3 });
  });

  it('keeps the process alive while it has batches and until close() has ended it, so that the code awaiting them runs', () => {
    // A script with nothing else to keep its event loop alive (a host's CLI after app.close()), on the build's copy.
    const built = pathToFileURL(join(process.cwd(), 'dist/src/messages/sqlite-writer-thread.js')).href;
    const script = [
      `import { SqliteWriterThread } from ${JSON.stringify(built)};`,
      `const thread = new SqliteWriterThread(${JSON.stringify({ path, synchronous: 'FULL', busyTimeoutMs: 200, restartDelayMs: 300 })});`,
      `const [outcome] = await thread.store([${JSON.stringify(entry(1, 'from a script'))}], 1000);`,
      'await thread.close();',
      'console.log(`stored ${outcome.seq}, then closed`);',
    ].join('\n');
    const file = join(folder, 'script.mjs');
    writeFileSync(file, script);
    const { stdout, stderr } = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
    expect({ stdout: stdout.trim(), stderr }).toEqual({ stdout: 'stored 1, then closed', stderr: '' });
  });

  it('tells apart sends whose sender and clientMsgId would run together', async () => {
    const outcomes = await thread.store([{ ...entry(1, 'foo\nbar'), senderId: 'alice' }, { ...entry(1, 'bar'), senderId: 'alice\nfoo' }], 1000);
    expect(outcomes.map((outcome) => storedOf(outcome).seq)).toEqual([1, 2]);
  });

  it('stores batches posted together in turn, and fails only the batch that fails', async () => {
    // Posted in one go, the thread takes them in one transaction; an object where a value belongs fails the second (better-sqlite3 takes it for named parameters).
    const unbindable = { ...entry(1, 'bad'), payload: {} as unknown as string };
    const [first, second, third] = await Promise.allSettled([
      thread.store([entry(1, 'a'), entry(2, 'b')], 1000),
      thread.store([entry(1, 'c'), unbindable], 1000),
      thread.store([entry(1, 'd')], 2000),
    ]);
    expect(first.status === 'fulfilled' && first.value.map((o) => storedOf(o).seq)).toEqual([1, 1]);
    expect(second).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/parameter/) } });
    expect(third.status === 'fulfilled' && storedOf(third.value[0]).seq).toBe(2);

    // Nothing of the failed batch, not even its first message or its seq.
    expect(reader.prepare('SELECT client_msg_id, seq, sent_at FROM switchboard_messages WHERE room_id = 1 ORDER BY seq').all()).toEqual([
      { client_msg_id: 'a', seq: 1, sent_at: 1000 },
      { client_msg_id: 'd', seq: 2, sent_at: 2000 },
    ]);
    expect(reader.prepare('SELECT last_seq FROM switchboard_rooms WHERE id = 1').get()).toEqual({ last_seq: 2 });
    // One transaction (the thread was starting while all three were posted), of the two batches committed.
    expect(commits).toEqual([3]);
  });

  it('stores a batch one by one, in its turn, when the database refuses one of its messages, and answers that one as refused', async () => {
    reader.exec("CREATE TRIGGER refuse_bad BEFORE INSERT ON switchboard_messages WHEN NEW.text = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    const [first, second] = await Promise.all([
      thread.store([entry(1, 'a'), entry(1, 'b', 'bad'), entry(1, 'c')], 1000),
      thread.store([entry(1, 'd')], 2000),
    ]);
    expect(first).toEqual([{ seq: 1 }, { refused: { message: 'refused', code: 'SQLITE_CONSTRAINT_TRIGGER' } }, { seq: 2 }]);
    expect(second).toEqual([{ seq: 3 }]);
    expect(reader.prepare('SELECT client_msg_id, seq FROM switchboard_messages WHERE room_id = 1 ORDER BY seq').all()).toEqual([
      { client_msg_id: 'a', seq: 1 },
      { client_msg_id: 'c', seq: 2 },
      { client_msg_id: 'd', seq: 3 },
    ]);
  });

  it('fails every batch of a transaction SQLite rolled back by itself, and stores none of them', async () => {
    // RAISE(ROLLBACK) ends the whole transaction, as a full disk or an I/O error does: no savepoint is left.
    reader.exec("CREATE TRIGGER lose_all BEFORE INSERT ON switchboard_messages WHEN NEW.text = 'lost' BEGIN SELECT RAISE(ROLLBACK, 'rolled back'); END");
    const settled = await Promise.allSettled([
      thread.store([entry(1, 'a')], 1000),
      thread.store([entry(1, 'b', 'lost'), entry(1, 'c')], 1000),
      thread.store([entry(2, 'd')], 1000),
    ]);
    expect(settled).toEqual(Array(3).fill({ status: 'rejected', reason: expect.objectContaining({ message: 'rolled back', code: 'SQLITE_CONSTRAINT_TRIGGER' }) }));
    expect(reader.prepare('SELECT count(*) AS count FROM switchboard_messages').get()).toEqual({ count: 0 });
    expect(reader.prepare('SELECT max(last_seq) AS last FROM switchboard_rooms').get()).toEqual({ last: 0 });
    expect(commits).toEqual([]);
  });

  it('fails a batch while another connection holds the write lock, stores nothing of it, and works once the lock is gone', async () => {
    reader.exec('BEGIN IMMEDIATE');
    await expect(thread.store([entry(1, 'a')], 1000)).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    reader.exec('ROLLBACK');
    expect(reader.prepare('SELECT count(*) AS n FROM switchboard_messages').get()).toEqual({ n: 0 });

    const [outcome] = await thread.store([entry(1, 'a')], 1000);
    expect(storedOf(outcome).seq).toBe(1);
  });

  it('fails batches for a moment after the thread died, then starts a new one', async () => {
    await thread.store([entry(1, 'a')], 1000);
    // Only while it idles: a thread stopped inside better-sqlite3 takes the process with it.
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();

    // Refused before the database: certainly not stored, nothing to look for.
    await expect(thread.store([entry(1, 'b')], 1000)).rejects.toMatchObject({ message: expect.stringMatching(/restarting/), nothingStored: true });
    await new Promise((resolve) => setTimeout(resolve, 350));
    const [outcome] = await thread.store([entry(1, 'b')], 1000);
    expect(storedOf(outcome).seq).toBe(2);
  });

  it('fails the batch, not the server, when the thread cannot open the database', async () => {
    const broken = new SqliteWriterThread({ path: join(folder, 'missing-folder', 'db.sqlite'), synchronous: 'FULL', busyTimeoutMs: 200, restartDelayMs: 10_000 });
    await expect(broken.store([entry(1, 'a')], 1000)).rejects.toThrow(/writer thread stopped/);
    await expect(broken.store([entry(1, 'a')], 1000)).rejects.toThrow(/restarting/);
    await broken.close();
  });
});
