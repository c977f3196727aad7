import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { AuthorizationService } from '../authorization/authorization.service.js';
import { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import type { Transport } from '../delivery/transport.js';
import type { DeliveryService } from '../delivery/delivery.service.js';
import type { GracefulShutdown } from '../gateway/graceful-shutdown.service.js';
import type { MessagesService } from '../messages/messages.service.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { ErrorCode, RealtimeError } from '../protocol/error-codes.js';
import type { HistoryEntry } from '../protocol/wire.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import type { RoomRecord, RoomsService } from '../rooms/rooms.service.js';
import { LongPollService, type PollQuery } from './long-poll.service.js';

const USER: AuthenticatedUser = { id: 'bob', name: 'Bob', tenantId: '', expiresAt: Math.floor(Date.now() / 1000) + 3600 };
const ROOM: RoomRecord = { id: 1, tenantId: '', name: 'general', key: '\ngeneral', archived: false };

/** A room's stored messages and the node's fan-out, as the poll sees them. */
class FakeRoom {
  stored: number[] = [];
  watchers = new Set<(seq: number) => void>();
  reads = 0;
  /** Runs during the next read, before it returns (a message arriving while the database answers). */
  duringRead: (() => void) | undefined;
  allowed = true;

  /** Stores a message and, as MessagesService does after the commit, announces it. */
  store(seq: number): void {
    this.stored.push(seq);
    for (const watcher of this.watchers) watcher(seq);
  }

  service(draining = false): LongPollService {
    const rooms = { open: async () => ROOM } as unknown as RoomsService;
    const messages = {
      history: async (_user: AuthenticatedUser, room: string, query: { after: number; limit?: number }) => {
        this.reads++;
        const snapshot = this.stored.filter((seq) => seq > query.after);
        const during = this.duringRead;
        this.duringRead = undefined;
        during?.();
        const limit = query.limit ?? 50;
        const messages = snapshot.slice(0, limit).map((seq) => ({ room, seq, deleted: true }) as HistoryEntry);
        return { room, messages, hasMore: snapshot.length > limit };
      },
    } as unknown as MessagesService;
    const delivery = {
      watchMessages: async (_room: RoomRecord, onMessage: (seq: number) => void) => {
        this.watchers.add(onMessage);
        return () => this.watchers.delete(onMessage);
      },
    } as unknown as DeliveryService;
    const authorization = {
      assertAny: async () => {
        if (!this.allowed) throw RealtimeError.forbidden('permission room.join is required in room general');
      },
    } as unknown as AuthorizationService;
    const shutdown = { draining } as GracefulShutdown;
    const options = { websocket: { shutdownTimeoutMs: 1000, maxSocketsPerUser: 3, maxBufferedBytes: 1 << 20 } } as ResolvedRealtimeOptions;
    const connections = new ConnectionRegistry(options, { sockets: { set: () => undefined } } as unknown as RealtimeMetrics);
    // The user has one socket open.
    connections.attach({ attach: () => undefined } as unknown as Transport, USER);
    return new LongPollService(rooms, messages, delivery, authorization, shutdown, connections, options);
  }
}

const query = (after: number, timeoutSeconds = 60, limit?: number): PollQuery => ({ after, timeoutSeconds, limit });
const never = new Promise<void>(() => undefined);
const seqs = (page: { messages: Array<{ seq: number }> }) => page.messages.map((m) => m.seq);
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('LongPollService', () => {
  it('answers at once with the messages after `after`, in pages, and stops watching', async () => {
    const room = new FakeRoom();
    room.stored = [1, 2, 3];
    const polls = room.service();
    expect(seqs(await polls.poll(USER, 'general', query(1), never))).toEqual([2, 3]);
    const paged = await polls.poll(USER, 'general', query(0, 60, 2), never);
    expect([seqs(paged), paged.hasMore]).toEqual([[1, 2], true]);
    expect(room.watchers.size).toBe(0);
  });

  it('waits for a message after `after`, ignoring older ones, then reads again', async () => {
    const room = new FakeRoom();
    room.stored = [1, 2];
    const polls = room.service();
    let answer: Array<number> | undefined;
    const polling = polls.poll(USER, 'general', query(2), never).then((page) => (answer = seqs(page)));
    await tick();
    expect(room.watchers.size).toBe(1);
    // An announcement of an older seq (a resend) is not news.
    room.watchers.forEach((watcher) => watcher(2));
    await tick();
    expect(answer).toBeUndefined();
    room.store(3);
    await polling;
    expect(answer).toEqual([3]);
    expect(room.reads).toBe(2);
    expect(room.watchers.size).toBe(0);
  });

  it('does not miss a message announced while the empty read was under way', async () => {
    const room = new FakeRoom();
    const polls = room.service();
    room.duringRead = () => room.store(1);
    expect(seqs(await polls.poll(USER, 'general', query(0), never))).toEqual([1]);
  });

  it('answers an empty page at the timeout, or when the client went away', async () => {
    const room = new FakeRoom();
    const polls = room.service();
    expect(await polls.poll(USER, 'general', query(0, 0.01), never)).toEqual({ room: 'general', messages: [], hasMore: false });
    expect(seqs(await polls.poll(USER, 'general', query(0), Promise.resolve()))).toEqual([]);
    expect(room.watchers.size).toBe(0);
  });

  it('refuses the messages to a user who lost room.join while waiting', async () => {
    const room = new FakeRoom();
    const polls = room.service();
    const polling = polls.poll(USER, 'general', query(0), never);
    await tick();
    room.allowed = false;
    room.store(1);
    await expect(polling).rejects.toMatchObject({ code: ErrorCode.FORBIDDEN });
    expect(room.watchers.size).toBe(0);
  });

  it('answers pending polls at shutdown, waits for their requests, and refuses new ones', async () => {
    const room = new FakeRoom();
    const polls = room.service();
    let requestDone!: () => void;
    const requestOver = new Promise<void>((resolve) => (requestDone = resolve));
    const polling = polls.poll(USER, 'general', query(0), requestOver);
    await tick();
    let stopped = false;
    const stopping = polls.beforeApplicationShutdown().then(() => (stopped = true));
    expect(seqs(await polling)).toEqual([]);
    await tick();
    expect(stopped).toBe(false);
    requestDone();
    await stopping;
    await expect(polls.poll(USER, 'general', query(0), never)).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE });
  });

  it('refuses polls while the sockets drain', async () => {
    await expect(new FakeRoom().service(true).poll(USER, 'general', query(0), never)).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE });
  });

  it("counts waiting polls with the user's sockets against the cap, and frees a place when one ends", async () => {
    const room = new FakeRoom();
    const polls = room.service();
    const over = [0, 1].map(() => {
      let end!: () => void;
      return { promise: new Promise<void>((resolve) => (end = resolve)), end: () => end() };
    });
    // One socket open, the cap 3: two polls may wait, a third is refused.
    const waiting = over.map(({ promise }) => polls.poll(USER, 'general', query(0), promise));
    await tick();
    await expect(polls.poll(USER, 'general', query(0), never)).rejects.toMatchObject({ code: ErrorCode.RATE_LIMITED });
    await expect(polls.poll({ ...USER, id: 'alice' }, 'general', query(0, 1), new Promise<void>((resolve) => setTimeout(resolve, 10)))).resolves.toBeDefined();
    over[0].end();
    await waiting[0];
    const again = polls.poll(USER, 'general', query(0), over[0].promise);
    await again;
    over[1].end();
    await waiting[1];
  });

  it("answers when the user's token expires, however long the poll's timeout", async () => {
    const room = new FakeRoom();
    const expiring = { ...USER, expiresAt: Date.now() / 1000 + 0.2 };
    // Within the test's own timeout, far below the poll's 60 s.
    expect(seqs(await room.service().poll(expiring, 'general', query(0, 60), never))).toEqual([]);
  });
});
