import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suiteServer } from '../support/suite-server.js';
import { waitUntil } from '../support/wait.js';

describe('SQLite checkpoints off the event loop', () => {
  const suite = suiteServer('sqlite');

  /** Messages of the room found in the database file alone, without its write-ahead log. */
  function countInMainFile(room: string): number {
    const directory = mkdtempSync(join(tmpdir(), 'switchboard-checkpoint-'));
    try {
      const copy = join(directory, 'copy.sqlite');
      copyFileSync(suite.database.sqlitePath!, copy);
      const database = new Database(copy, { readonly: true });
      try {
        // Until a checkpoint, even the tables exist only in the log.
        if (!database.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'switchboard_messages'`).get()) return 0;
        const row = database
          .prepare('SELECT count(*) AS n FROM switchboard_messages m JOIN switchboard_rooms r ON r.id = m.room_id WHERE r.name = ?')
          .get(room) as { n: number };
        return row.n;
      } finally {
        database.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }

  it('moves committed messages into the database file while commits only append to the log', async () => {
    const sender = await suite.connect('checkpoint-sender');
    for (let n = 0; n < 20; n++) await sender.ok('message.send', { room: 'checkpointed', text: `m${n}`, clientMsgId: `c${n}` });
    // The server's own connection only checkpoints past ~40 MB of log: this is the worker's doing.
    await waitUntil(() => countInMainFile('checkpointed') === 20, 5000);
    const main = new Database(suite.database.sqlitePath!, { readonly: true });
    try {
      expect(main.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      main.close();
    }
  });
});
