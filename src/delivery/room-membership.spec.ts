import type { RoomRecord } from '../rooms/rooms.service.js';
import type { Connection } from './connection.js';
import { RoomMembership } from './room-membership.js';

class FakeConnection {
  readonly sent: string[] = [];
  readonly backlogChecks: number[] = [];
  heldBytes = 0;
  isOpen = true;
  send(frame: string): void {
    this.sent.push(frame);
  }
  checkBacklog(): void {
    this.backlogChecks.push(this.heldBytes);
  }
}

const ROOM: RoomRecord = { id: 1, tenantId: 'acme', name: 'general', key: 'acme\ngeneral', archived: false };

function setup(): { membership: RoomMembership; sent: string[]; connection: FakeConnection } {
  const connection = new FakeConnection();
  const membership = new RoomMembership(connection as unknown as Connection, ROOM);
  return { membership, sent: connection.sent, connection };
}

describe('RoomMembership', () => {
  describe('live frames', () => {
    it('passes frames through at once', () => {
      const { membership, sent } = setup();
      membership.deliver('typing');
      membership.deliver('m1', 1);
      expect(sent).toEqual(['typing', 'm1']);
    });

    it('sends each message once', () => {
      const { membership, sent } = setup();
      membership.deliver('m1', 1);
      membership.deliver('m1 again', 1);
      membership.deliver('m2', 2);
      membership.deliver('m2 again', 2);
      expect(sent).toEqual(['m1', 'm2']);
    });

    it('drops messages older than the last one sent', () => {
      const { membership, sent } = setup();
      membership.deliver('m5', 5);
      membership.deliver('m3', 3);
      membership.deliver('m4', 4);
      membership.deliver('m6', 6);
      expect(sent).toEqual(['m5', 'm6']);
    });

    it('never deduplicates frames without seq', () => {
      const { membership, sent } = setup();
      membership.deliver('m9', 9);
      membership.deliver('presence');
      membership.deliver('presence');
      membership.deliver('update');
      membership.deliver('m10', 10);
      membership.deliver('update');
      expect(sent).toEqual(['m9', 'presence', 'presence', 'update', 'm10', 'update']);
    });

    it('sends replayed messages once too', () => {
      const { membership, sent } = setup();
      membership.sendReplayed('r1', 1);
      membership.sendReplayed('r1 again', 1);
      membership.deliver('m1', 1);
      membership.deliver('m2', 2);
      membership.sendReplayed('r2', 2);
      expect(sent).toEqual(['r1', 'm2']);
    });
  });

  describe('holds', () => {
    it('keeps frames back while held', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.deliver('m1', 1);
      membership.deliver('presence');
      expect(sent).toEqual([]);
    });

    it('flushes held frames in order on release', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.deliver('m1', 1);
      membership.deliver('presence');
      membership.deliver('m2', 2);
      membership.deliver('update');
      membership.release();
      expect(sent).toEqual(['m1', 'presence', 'm2', 'update']);
    });

    it('sends replayed messages while held', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.sendReplayed('r1', 1);
      membership.sendReplayed('r2', 2);
      expect(sent).toEqual(['r1', 'r2']);
    });

    it('skips held messages the replay already sent', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.deliver('m3', 3);
      membership.sendReplayed('r1', 1);
      membership.sendReplayed('r2', 2);
      membership.deliver('m4', 4);
      membership.sendReplayed('r3', 3);
      membership.deliver('presence');
      membership.release();
      expect(sent).toEqual(['r1', 'r2', 'r3', 'm4', 'presence']);
    });

    it('keeps held frames without seq even when the replay went past them', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.deliver('update');
      membership.sendReplayed('r5', 5);
      membership.release();
      expect(sent).toEqual(['r5', 'update']);
    });

    it('needs as many releases as holds', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.hold();
      membership.deliver('m1', 1);
      membership.release();
      expect(sent).toEqual([]);
      membership.deliver('m2', 2);
      membership.release();
      expect(sent).toEqual(['m1', 'm2']);
    });

    it('passes frames through again after the last release', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.release();
      membership.deliver('m1', 1);
      expect(sent).toEqual(['m1']);
    });

    it('ignores a release without a hold', () => {
      const { membership, sent } = setup();
      membership.release();
      membership.hold();
      membership.hold();
      membership.deliver('m1', 1);
      membership.release();
      expect(sent).toEqual([]);
      membership.release();
      expect(sent).toEqual(['m1']);
    });

    it('does not send a flushed frame twice', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.deliver('presence');
      membership.release();
      membership.hold();
      membership.release();
      expect(sent).toEqual(['presence']);
    });
  });

  describe('inactive', () => {
    it('sends nothing', () => {
      const { membership, sent } = setup();
      membership.active = false;
      membership.deliver('m1', 1);
      membership.deliver('presence');
      membership.sendReplayed('r2', 2);
      expect(sent).toEqual([]);
    });

    it('drops held frames on release', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.deliver('m1', 1);
      membership.deliver('presence');
      membership.active = false;
      membership.release();
      expect(sent).toEqual([]);
      membership.deliver('m2', 2);
      expect(sent).toEqual([]);
    });

    it('does not hold frames delivered while inactive', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.active = false;
      membership.deliver('m1', 1);
      membership.active = true;
      membership.release();
      expect(sent).toEqual([]);
    });
  });

  describe('replays and joins', () => {
    it('beginReplay lets a replay send again what follows since, and only that', () => {
      const { membership, sent } = setup();
      membership.deliver('m1', 1);
      membership.deliver('m2', 2);
      membership.deliver('m3', 3);
      membership.hold();
      membership.beginReplay(1);
      membership.sendReplayed('m2 replayed', 2);
      membership.sendReplayed('m3 replayed', 3);
      membership.deliver('m3 live', 3);
      membership.deliver('m4', 4);
      membership.release();
      expect(sent).toEqual(['m1', 'm2', 'm3', 'm2 replayed', 'm3 replayed', 'm4']);
    });

    it('beginReplay never moves the cursor forward', () => {
      const { membership, sent } = setup();
      membership.deliver('m2', 2);
      membership.beginReplay(5);
      membership.deliver('m3', 3);
      expect(sent).toEqual(['m2', 'm3']);
    });

    it('a newer replay makes the older one stale', () => {
      const { membership } = setup();
      const first = membership.beginReplay(5);
      expect(membership.isCurrentReplay(first)).toBe(true);
      const second = membership.beginReplay(0);
      expect(membership.isCurrentReplay(first)).toBe(false);
      expect(membership.isCurrentReplay(second)).toBe(true);
      membership.active = false;
      expect(membership.isCurrentReplay(second)).toBe(false);
    });

    it('skipTo drops what the join reply already counted, even if held', () => {
      const { membership, sent } = setup();
      membership.hold();
      membership.deliver('m7', 7);
      membership.deliver('m8', 8);
      membership.skipTo(7);
      membership.release();
      expect(sent).toEqual(['m8']);
    });
  });

  describe('held frames count against the socket buffer', () => {
    it('adds held frames to the connection backlog and checks it, and takes them off on release', () => {
      const { membership, connection } = setup();
      membership.hold();
      membership.deliver('12345', 1);
      membership.deliver('123456', 2);
      expect(connection.backlogChecks).toEqual([5, 11]);
      membership.release();
      expect(connection.heldBytes).toBe(0);
    });

    it('takes held frames off the backlog when an inactive membership is released', () => {
      const { membership, connection } = setup();
      membership.hold();
      membership.deliver('123456789', 1);
      membership.active = false;
      membership.release();
      expect(connection.heldBytes).toBe(0);
    });
  });

  it('stops counting a replay as current once its socket is no longer open', () => {
    const { membership, connection } = setup();
    const replay = membership.beginReplay(0);
    connection.isOpen = false;
    expect(membership.isCurrentReplay(replay)).toBe(false);
  });
});
