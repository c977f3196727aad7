import { randomUUID } from 'node:crypto';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { REALTIME_CONNECTION } from '../../src/database/data-source-options.js';
import { describeEachDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { suiteServer } from '../support/suite-server.js';
import { token } from '../support/tokens.js';
import { waitUntil } from '../support/wait.js';

describeEachDatabase('messaging', (kind) => {
  const suite = suiteServer(kind);
  const connect = (sub: string, name?: string) => suite.connect(sub, { name });
  const grant = (userId: string, role: string) =>
    http(suite.server.httpUrl, 'PUT', `/admin/users/${userId}/roles/${role}`, { token: token('root'), body: {} });

  /** Stores messages in a room as another node sharing the database would, without telling this node. */
  async function storeElsewhere(room: string, seqs: number[]): Promise<void> {
    const dataSource = suite.server.app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION));
    const param = (n: number) => (kind === 'postgres' ? `$${n}` : '?');
    const [{ id }] = await dataSource.query(`SELECT id FROM switchboard_rooms WHERE name = ${param(1)}`, [room]);
    const columns = ['id', 'room_id', 'seq', 'sender_id', 'sender_name', 'client_msg_id', 'text', 'sent_at'];
    for (const seq of seqs) {
      await dataSource.query(
        `INSERT INTO switchboard_messages (${columns.join(', ')}) VALUES (${columns.map((_, i) => param(i + 1)).join(', ')})`,
        [randomUUID(), id, seq, 'elsewhere', 'Elsewhere', `elsewhere-${seq}`, `m${seq}`, Date.now()],
      );
    }
    await dataSource.query(`UPDATE switchboard_rooms SET last_seq = ${param(1)} WHERE id = ${param(2)}`, [seqs.at(-1), id]);
  }

  it('delivers a message from one user to another, acked after storage with increasing seq', async () => {
    const alice = await connect('alice', 'Alice');
    const bob = await connect('bob', 'Bob');
    expect(await alice.ok('room.join', { room: 'general' })).toEqual({ room: 'general', lastSeq: 0 });
    expect(await bob.ok('room.join', { room: 'general' })).toEqual({ room: 'general', lastSeq: 0 });

    const ack = await alice.ok('message.send', { room: 'general', text: 'hello bob', clientMsgId: 'm-1' });
    expect(ack).toEqual({
      room: 'general',
      seq: 1,
      messageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      duplicate: false,
    });
    const received = await bob.nextPush('message', 'general');
    expect(received.data).toEqual({
      room: 'general',
      seq: 1,
      messageId: ack.messageId,
      clientMsgId: 'm-1',
      sender: { id: 'alice', name: 'Alice' },
      text: 'hello bob',
      sentAt: ack.sentAt,
    });

    // Same clientMsgId from another sender is another message.
    const second = await bob.ok('message.send', { room: 'general', payload: { price: 101.5, tags: ['a'] }, clientMsgId: 'm-1' });
    expect(second).toMatchObject({ seq: 2, duplicate: false });
    expect((await alice.nextPush('message', 'general')).data.seq).toBe(1);
    const pushed = await alice.nextPush('message', 'general');
    expect(pushed.data).toMatchObject({ seq: 2, payload: { price: 101.5, tags: ['a'] }, sender: { id: 'bob', name: 'Bob' } });
    expect(pushed.data.text).toBeUndefined();
    expect(await alice.ok('room.join', { room: 'general' })).toEqual({ room: 'general', lastSeq: 2 });
  });

  it('stores any text and payload exactly, whatever characters they hold', async () => {
    const sender = await connect('quoting "sender", {1}', 'Name with \\ "quotes"');
    await sender.ok('room.join', { room: 'characters' });
    const texts = ['NULL', 'a "quoted", {braced} \\ back\\slashed, comma', 'line\nbreak\ttab', 'emoji 😀 and ünïcödé', '{}', '\\N'];
    const payload = { nested: { quote: '"', backslash: '\\', braces: '{a,b}', nul: 'NULL', list: ['x,y', null, 1.5] } };
    for (const [index, text] of texts.entries()) await sender.ok('message.send', { room: 'characters', text, clientMsgId: `t${index}` });
    await sender.ok('message.send', { room: 'characters', payload, clientMsgId: 'p' });
    // A resend is found by its clientMsgId, however it is spelled.
    await sender.ok('message.send', { room: 'characters', text: 'again', clientMsgId: 'id "with" {odd}, characters\\' });
    expect(await sender.ok('message.send', { room: 'characters', text: 'again', clientMsgId: 'id "with" {odd}, characters\\' })).toMatchObject({ duplicate: true });

    const { messages } = await sender.ok('history.fetch', { room: 'characters', limit: 20 });
    expect(messages.map((m: { text?: string }) => m.text)).toEqual([...texts, undefined, 'again']);
    expect(messages[texts.length].payload).toEqual(payload);
    expect(messages[0].sender).toEqual({ id: 'quoting "sender", {1}', name: 'Name with \\ "quotes"' });
  });

  it('gives concurrent senders distinct, gap-free seqs and delivers them in seq order', async () => {
    const watcher = await connect('watcher');
    await watcher.ok('room.join', { room: 'busy' });
    const senders = await Promise.all(['s1', 's2', 's3', 's4'].map((s) => connect(s)));
    const acks = await Promise.all(
      senders.flatMap((sender, i) =>
        Array.from({ length: 25 }, (_, n) => sender.ok('message.send', { room: 'busy', text: `${i}:${n}`, clientMsgId: `c${n}` })),
      ),
    );
    const seqs = acks.map((a) => a.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    await waitUntil(() => watcher.pushes('message', 'busy').length >= 100);
    expect(watcher.pushes('message', 'busy').map((f) => f.data.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('keeps every room in seq order while batches for several rooms commit at once', async () => {
    const rooms = ['mixed-a', 'mixed-b', 'mixed-c'];
    const watcher = await connect('mixed-watcher');
    for (const room of rooms) await watcher.ok('room.join', { room });
    const senders = await Promise.all(['m1', 'm2', 'm3'].map((s) => connect(s)));
    const acks = await Promise.all(
      senders.flatMap((sender, i) =>
        Array.from({ length: 60 }, (_, n) => sender.ok('message.send', { room: rooms[(i + n) % 3], text: `${i}:${n}`, clientMsgId: `m${n}` })),
      ),
    );
    for (const room of rooms) {
      expect(acks.filter((a) => a.room === room).map((a) => a.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    }
    await waitUntil(() => rooms.every((room) => watcher.pushes('message', room).length >= 60));
    for (const room of rooms) {
      expect(watcher.pushes('message', room).map((f) => f.data.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    }
  });

  it('answers a resend of the same clientMsgId with the original seq and does not deliver it again', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await bob.ok('room.join', { room: 'resend' });
    const first = await alice.ok('message.send', { room: 'resend', text: 'once', clientMsgId: 'same' });
    const again = await alice.ok('message.send', { room: 'resend', text: 'once, retried', clientMsgId: 'same' });
    expect(again).toEqual({ ...first, duplicate: true });
    // Both at once: one is stored, the other is its duplicate.
    const [x, y] = await Promise.all([
      alice.ok('message.send', { room: 'resend', text: 'twin', clientMsgId: 'twin' }),
      alice.ok('message.send', { room: 'resend', text: 'twin', clientMsgId: 'twin' }),
    ]);
    expect(x.seq).toBe(y.seq);
    expect([x.duplicate, y.duplicate].sort()).toEqual([false, true]);
    await bob.settle();
    expect(bob.pushes('message', 'resend').map((f) => f.data.seq)).toEqual([first.seq, x.seq]);
  });

  it('pages history: newest page, before, after, between, with hasMore in the paging direction', async () => {
    const alice = await connect('alice');
    for (let n = 1; n <= 12; n++) await alice.ok('message.send', { room: 'paged', text: `m${n}`, clientMsgId: `p${n}` });
    const seqs = (page: { messages: Array<{ seq: number }> }) => page.messages.map((m) => m.seq);

    const newest = await alice.ok('history.fetch', { room: 'paged', limit: 5 });
    expect(seqs(newest)).toEqual([8, 9, 10, 11, 12]);
    expect(newest.hasMore).toBe(true);
    const older = await alice.ok('history.fetch', { room: 'paged', before: 8, limit: 5 });
    expect(seqs(older)).toEqual([3, 4, 5, 6, 7]);
    expect(older.hasMore).toBe(true);
    const oldest = await alice.ok('history.fetch', { room: 'paged', before: 3, limit: 5 });
    expect(seqs(oldest)).toEqual([1, 2]);
    expect(oldest.hasMore).toBe(false);
    const after = await alice.ok('history.fetch', { room: 'paged', after: 9 });
    expect(seqs(after)).toEqual([10, 11, 12]);
    expect(after.hasMore).toBe(false);
    const afterPaged = await alice.ok('history.fetch', { room: 'paged', after: 2, limit: 3 });
    expect(seqs(afterPaged)).toEqual([3, 4, 5]);
    expect(afterPaged.hasMore).toBe(true);
    const between = await alice.ok('history.fetch', { room: 'paged', after: 4, before: 9 });
    expect(seqs(between)).toEqual([5, 6, 7, 8]);
    expect(between.hasMore).toBe(false);
    const betweenPaged = await alice.ok('history.fetch', { room: 'paged', after: 4, before: 9, limit: 2 });
    expect(seqs(betweenPaged)).toEqual([5, 6]);
    expect(betweenPaged.hasMore).toBe(true);
    expect(newest.messages[0]).toMatchObject({ room: 'paged', seq: 8, text: 'm8', clientMsgId: 'p8', sender: { id: 'alice', name: 'alice' } });
    expect((await alice.ok('history.fetch', { room: 'paged' })).messages).toHaveLength(12);
  });

  it('replays what a member missed after `since`, reply first, then live messages without gap or duplicate', async () => {
    const alice = await connect('alice');
    for (let n = 1; n <= 5; n++) await alice.ok('message.send', { room: 'resume', text: `m${n}`, clientMsgId: `r${n}` });
    const bob = await connect('bob');
    const join = bob.request('room.join', { room: 'resume', since: 2 });
    // Other users keep sending while the replay runs.
    const sending = Promise.all(
      Array.from({ length: 20 }, (_, n) => alice.ok('message.send', { room: 'resume', text: `live${n}`, clientMsgId: `l${n}` })),
    );
    const reply = await join;
    await sending;
    await waitUntil(() => bob.pushes('message', 'resume').length >= 23);
    await bob.settle();
    const replyIndex = bob.frames.indexOf(reply);
    const firstMessage = bob.frames.findIndex((f) => f.event === 'message');
    expect(replyIndex).toBeGreaterThanOrEqual(0);
    expect(replyIndex).toBeLessThan(firstMessage);
    expect(bob.pushes('message', 'resume').map((f) => f.data.seq)).toEqual(Array.from({ length: 23 }, (_, i) => i + 3));

    // Joining again with since on the same socket sends what follows since again.
    expect(await bob.ok('room.join', { room: 'resume', since: 22 })).toEqual({ room: 'resume', lastSeq: 25 });
    await waitUntil(() => bob.pushes('message', 'resume').length >= 26);
    expect(bob.pushes('message', 'resume').slice(23).map((f) => f.data.seq)).toEqual([23, 24, 25]);

    // Without since: nothing is replayed.
    const carol = await connect('carol');
    expect((await carol.ok('room.join', { room: 'resume' })).lastSeq).toBe(25);
    await carol.settle();
    expect(carol.pushes('message', 'resume')).toHaveLength(0);
  });

  it('resumes after a `since` this node has not handed out yet without pushing those messages again, and clamps a `since` past the room', async () => {
    const alice = await connect('alice');
    await alice.ok('room.join', { room: 'ahead' });
    await alice.ok('message.send', { room: 'ahead', text: 'm1', clientMsgId: 'a1' });
    // Stored by another node sharing the database; its broadcast has not reached this node.
    await storeElsewhere('ahead', [2, 3, 4]);
    // Bob had them from that node and resumes here.
    const bob = await connect('bob');
    expect(await bob.ok('room.join', { room: 'ahead', since: 4 })).toEqual({ room: 'ahead', lastSeq: 4 });
    // The next message shows this node the gap, and it reads 2 to 4 from the database.
    expect(await alice.ok('message.send', { room: 'ahead', text: 'm5', clientMsgId: 'a5' })).toMatchObject({ seq: 5 });
    await waitUntil(() => alice.pushes('message', 'ahead').length >= 5);
    expect(alice.pushes('message', 'ahead').map((f) => f.data.seq)).toEqual([1, 2, 3, 4, 5]);
    await bob.settle();
    expect(bob.pushes('message', 'ahead').map((f) => f.data.seq)).toEqual([5]);

    // More than the room ever stored: live messages start after what it has.
    const carol = await connect('carol');
    expect(await carol.ok('room.join', { room: 'ahead', since: 1000 })).toEqual({ room: 'ahead', lastSeq: 5 });
    await alice.ok('message.send', { room: 'ahead', text: 'm6', clientMsgId: 'a6' });
    expect((await carol.nextPush('message', 'ahead')).data.seq).toBe(6);
    await carol.settle();
    expect(carol.pushes('message', 'ahead')).toHaveLength(1);
  });

  it('resumes several joiners at different points while four senders keep sending: no gap, no duplicate, in order', async () => {
    const seeder = await connect('seeder');
    for (let n = 1; n <= 60; n++) await seeder.ok('message.send', { room: 'race', text: `old ${n}`, clientMsgId: `o${n}` });
    const senders = await Promise.all(['w', 'x', 'y', 'z'].map((s) => connect(s)));
    const joiners = await Promise.all([0, 30, 59, 60].map((since) => connect(`joiner-${since}`)));
    const sending = Promise.all(
      senders.map(async (sender, i) => {
        for (let n = 0; n < 30; n++) await sender.ok('message.send', { room: 'race', text: `${i}:${n}`, clientMsgId: `live-${n}` });
      }),
    );
    // Each joiner joins while the senders are in full flow.
    const joins = joiners.map(async (joiner, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 15));
      return joiner.ok('room.join', { room: 'race', since: [0, 30, 59, 60][i] });
    });
    await Promise.all([sending, ...joins]);
    const total = 60 + 4 * 30;
    await waitUntil(() => joiners.every((joiner, i) => joiner.pushes('message', 'race').length >= total - [0, 30, 59, 60][i]));
    await joiners[0].settle();
    joiners.forEach((joiner, i) => {
      const since = [0, 30, 59, 60][i];
      // Raw pushes, not de-duplicated: exactly since+1 .. total, each once, in order.
      expect(joiner.pushes('message', 'race').map((f) => f.data.seq)).toEqual(Array.from({ length: total - since }, (_, k) => since + k + 1));
    });
  });

  it('edits and deletes: own messages, moderators for anyone, deleted messages keep their seq', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await bob.ok('room.join', { room: 'edits' });
    const { seq } = await alice.ok('message.send', { room: 'edits', text: 'typo', clientMsgId: 'e1' });

    const edited = await alice.ok('message.edit', { room: 'edits', seq, text: 'fixed' });
    expect(edited).toEqual({ room: 'edits', seq, editedAt: expect.any(String) });
    expect((await bob.nextPush('message.updated', 'edits')).data).toEqual({ room: 'edits', seq, text: 'fixed', editedAt: edited.editedAt });

    expect((await bob.error('message.edit', { room: 'edits', seq, text: 'mine now' })).code).toBe('FORBIDDEN');
    expect((await bob.error('message.delete', { room: 'edits', seq })).code).toBe('FORBIDDEN');
    expect((await alice.error('message.edit', { room: 'edits', seq: 99, text: 'x' })).code).toBe('NOT_FOUND');

    expect((await grant('mod', 'moderator')).status).toBe(201);
    const mod = await connect('mod');
    await mod.ok('message.edit', { room: 'edits', seq, text: 'moderated' });
    expect(await mod.ok('message.delete', { room: 'edits', seq })).toEqual({ room: 'edits', seq });
    expect((await bob.nextPush('message.deleted', 'edits')).data).toEqual({ room: 'edits', seq });
    // Deleting twice is harmless; editing a deleted message is a conflict.
    expect(await alice.ok('message.delete', { room: 'edits', seq })).toEqual({ room: 'edits', seq });
    expect((await alice.error('message.edit', { room: 'edits', seq, text: 'back' })).code).toBe('CONFLICT');
    // Someone else's deleted message is not theirs to edit, as it was not theirs to delete.
    expect((await bob.error('message.edit', { room: 'edits', seq, text: 'back' })).code).toBe('FORBIDDEN');

    const next = await alice.ok('message.send', { room: 'edits', text: 'after', clientMsgId: 'e2' });
    expect(next.seq).toBe(seq + 1);
    const history = await alice.ok('history.fetch', { room: 'edits' });
    expect(history.messages).toEqual([{ room: 'edits', seq, deleted: true }, expect.objectContaining({ seq: seq + 1, text: 'after' })]);
    // A resumed member learns about the deletion in order.
    const dave = await connect('dave');
    await dave.ok('room.join', { room: 'edits', since: 0 });
    await waitUntil(() => dave.frames.length >= 3);
    expect(dave.frames.slice(1).map((f) => [f.event, f.data.seq])).toEqual([
      ['message', seq],
      ['message', seq + 1],
    ]);
    expect(dave.frames[1].data).toEqual({ room: 'edits', seq, deleted: true });
  });

  it('shows presence per user across sockets and relays typing to the others', async () => {
    const alice1 = await connect('alice', 'Alice');
    const alice2 = await connect('alice', 'Alice');
    const bob = await connect('bob', 'Bob');
    await bob.ok('room.join', { room: 'lobby' });
    await alice1.ok('room.join', { room: 'lobby' });
    expect((await bob.nextPush('presence.join', 'lobby')).data).toEqual({ room: 'lobby', user: { id: 'alice', name: 'Alice' } });
    await alice2.ok('room.join', { room: 'lobby' });
    const list = await bob.ok('presence.list', { room: 'lobby' });
    expect(list.room).toBe('lobby');
    expect(list.users).toHaveLength(2);
    expect(list.users).toEqual(expect.arrayContaining([{ id: 'alice', name: 'Alice' }, { id: 'bob', name: 'Bob' }]));

    expect(await alice1.ok('typing', { room: 'lobby' })).toEqual({ room: 'lobby' });
    expect((await bob.nextPush('typing', 'lobby')).data).toEqual({ room: 'lobby', user: { id: 'alice', name: 'Alice' } });
    await alice2.nextPush('typing', 'lobby');
    // Repeats within a second are answered, not relayed; then the next one is.
    for (let n = 0; n < 5; n++) expect(await alice1.ok('typing', { room: 'lobby' })).toEqual({ room: 'lobby' });
    await alice1.settle();
    expect(alice1.pushes('typing')).toHaveLength(0);
    expect(bob.pushes('typing')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await alice1.ok('typing', { room: 'lobby' });
    await waitUntil(() => bob.pushes('typing').length === 2);

    await alice1.ok('room.leave', { room: 'lobby' });
    await bob.settle();
    expect(bob.pushes('presence.leave')).toHaveLength(0);
    await alice2.close();
    expect((await bob.nextPush('presence.leave', 'lobby')).data).toEqual({ room: 'lobby', user: { id: 'alice', name: 'Alice' } });
    expect((await bob.ok('presence.list', { room: 'lobby' })).users).toEqual([{ id: 'bob', name: 'Bob' }]);
  });

  it('takes a join and a leave sent together in their order: the socket ends up out of the room', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    const rooms = Array.from({ length: 12 }, (_, n) => `quick-${n}`);
    // The join of a room not yet created takes longer than the leave that follows it.
    const replies = await Promise.all(rooms.flatMap((room) => [alice.request('room.join', { room }), alice.request('room.leave', { room })]));
    expect(replies.map((frame) => frame.event)).toEqual(rooms.flatMap(() => ['room.join', 'room.leave']));
    for (const room of rooms) {
      expect((await bob.ok('presence.list', { room })).users).toEqual([]);
      await bob.ok('message.send', { room, text: 'anyone?', clientMsgId: room });
    }
    await alice.settle();
    expect(alice.pushes('message')).toEqual([]);
    // And a join after the leave is the last word.
    await Promise.all([alice.request('room.join', { room: 'quick-0' }), alice.request('room.leave', { room: 'quick-0' }), alice.request('room.join', { room: 'quick-0' })]);
    expect((await bob.ok('presence.list', { room: 'quick-0' })).users).toEqual([{ id: 'alice', name: 'alice' }]);
  });

  it('receives only in joined rooms, and stops after leaving', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    await bob.ok('room.join', { room: 'a' });
    await alice.ok('message.send', { room: 'b', text: 'not for bob', clientMsgId: 'x1' });
    await alice.ok('message.send', { room: 'a', text: 'for bob', clientMsgId: 'x2' });
    expect((await bob.nextPush('message')).data).toMatchObject({ room: 'a', text: 'for bob' });
    expect(await bob.ok('room.leave', { room: 'a' })).toEqual({ room: 'a' });
    expect(await bob.ok('room.leave', { room: 'a' })).toEqual({ room: 'a' });
    await alice.ok('message.send', { room: 'a', text: 'after leave', clientMsgId: 'x3' });
    await bob.settle();
    expect(bob.pushes('message')).toHaveLength(1);
  });

  it('answers ping with pong and the server time', async () => {
    const alice = await connect('alice');
    const before = Date.now();
    const frame = await alice.request('ping', {});
    expect(frame).toEqual({ event: 'pong', id: frame.id, data: { time: expect.any(Number) } });
    expect(frame.data.time).toBeGreaterThanOrEqual(before);
    expect((await alice.request('ping')).event).toBe('pong');
  });
});

