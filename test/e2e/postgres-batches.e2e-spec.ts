import { DataSource } from 'typeorm';
import { ownDataSourceOptions } from '../../src/database/data-source-options.js';
import { TransactionRunner } from '../../src/database/transaction-runner.service.js';
import { storeBatchOnPostgres, timeOrderedUuid, type BatchEntry } from '../../src/messages/message-batch.js';
import type { ResolvedRealtimeOptions } from '../../src/realtime-options.js';
import { freshDatabase } from '../support/databases.js';
import { describeNeeding, postgresMissing } from '../support/requirements.js';

/**
 * The batch statement on a real PostgreSQL, below the sockets: stored once per
 * pooled connection as a prepared statement, or not at all when the options
 * say so (a pooler that drops them), with the same outcomes either way.
 */
describeNeeding('message batches on PostgreSQL', postgresMissing(), () => {
  const entry = (roomId: number, clientMsgId: string): BatchEntry => ({
    id: timeOrderedUuid(),
    roomId,
    roomName: `room-${roomId}`,
    senderId: 'alice',
    senderName: 'Alice',
    clientMsgId,
    text: clientMsgId,
    payload: null,
  });

  for (const preparedStatements of [true, false]) {
    it(`stores batches of any size, finds resends, ${preparedStatements ? 'on a statement prepared once per connection' : 'without preparing a statement'}`, async () => {
      const { postgresUrl } = await freshDatabase('postgres');
      const database = { type: 'postgres' as const, url: postgresUrl!, poolSize: 1, preparedStatements };
      const dataSource = await new DataSource(ownDataSourceOptions(database)).initialize();
      try {
        await dataSource.runMigrations();
        const [{ id: roomId }] = await dataSource.query(`INSERT INTO switchboard_rooms (tenant_id, name, created_at) VALUES ('', 'room', 0) RETURNING id`);
        const runner = new TransactionRunner(dataSource, { database } as ResolvedRealtimeOptions);
        const store = (batch: BatchEntry[]) => runner.statements((query) => storeBatchOnPostgres(query, batch, Date.now()));

        // More executions than PostgreSQL's five custom plans before it may switch to a generic one.
        let next = 1;
        for (const size of [1, 3, 1, 50, 2, 7, 1, 120]) {
          const batch = Array.from({ length: size }, (_, i) => entry(roomId, `m${next + i}`));
          const outcomes = await store(batch);
          expect(outcomes.map((outcome) => ('seq' in outcome ? outcome.seq : outcome))).toEqual(batch.map((_, i) => next + i));
          next += size;
        }
        const resent = await store([entry(roomId, 'm2'), entry(roomId, 'new')]);
        expect(resent[0]).toMatchObject({ original: { seq: 2, client_msg_id: 'm2', text: 'm2' } });
        expect(resent[1]).toMatchObject({ seq: next });

        // The pool's only connection is the one that ran the batches.
        const prepared: Array<{ name: string; statement: string }> = await dataSource.query('SELECT name, statement FROM pg_prepared_statements');
        if (preparedStatements) {
          expect(prepared.map((row) => row.name)).toEqual(['switchboard_1']);
          expect(prepared[0].statement).toContain('INSERT INTO switchboard_messages');
        } else {
          expect(prepared).toEqual([]);
        }
      } finally {
        await dataSource.destroy();
      }
    });
  }
});
