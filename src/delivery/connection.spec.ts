import { jest } from '@jest/globals';
import type { RoomRecord } from '../rooms/rooms.service.js';
import { Connection } from './connection.js';
import { RoomMembership } from './room-membership.js';
import type { Transport } from './transport.js';

/** A transport that is open and records what the connection tells it. */
class FakeTransport implements Transport {
  isOpen = true;
  bufferedAmount = 0;
  pings = 0;
  attached: Connection | undefined;
  send(): void {}
  closedWith: number | undefined;
  close(code: number): void {
    this.closedWith = code;
    this.isOpen = false;
  }
  terminate(): void {
    this.isOpen = false;
  }
  ping(): void {
    this.pings++;
  }
  attach(connection: Connection): void {
    this.attached = connection;
  }
  onClose(): void {}
}

const room = (name: string): RoomRecord => ({ id: name.length, tenantId: 'acme', name, key: `acme\n${name}`, archived: false });

function setup() {
  const transport = new FakeTransport();
  const connection = new Connection('c1', transport, null, 1 << 20);
  const membership = (name: string) => new RoomMembership(connection, room(name));
  return { transport, connection, membership };
}

describe('Connection', () => {
  describe('memberships', () => {
    it('finds, counts and lists them as they come and go, from none to several and back', () => {
      const { connection, membership } = setup();
      const [a, b, c] = [membership('a'), membership('b'), membership('c')];
      expect(connection.membershipCount).toBe(0);
      expect(connection.membershipIn(a.room.key)).toBeUndefined();

      connection.addMembership(a);
      expect(connection.membershipCount).toBe(1);
      expect(connection.membershipIn(a.room.key)).toBe(a);
      expect(connection.membershipIn(b.room.key)).toBeUndefined();

      connection.addMembership(b);
      connection.addMembership(c);
      expect(connection.membershipCount).toBe(3);
      expect(connection.memberships()).toEqual([a, b, c]);
      expect([a, b, c].map((m) => connection.membershipIn(m.room.key))).toEqual([a, b, c]);

      connection.removeMembership(b);
      expect(connection.memberships()).toEqual([a, c]);
      expect(connection.membershipIn(b.room.key)).toBeUndefined();
      connection.removeMembership(a);
      connection.removeMembership(c);
      expect(connection.membershipCount).toBe(0);
      expect(connection.memberships()).toEqual([]);
    });

    it('leaves them alone when asked to remove a membership it does not hold', () => {
      const { connection, membership } = setup();
      const held = membership('a');
      connection.addMembership(held);
      connection.removeMembership(membership('a'));
      expect(connection.membershipIn(held.room.key)).toBe(held);
    });

    it('hands out a copy, so that removing while walking it misses none', () => {
      const { connection, membership } = setup();
      for (const name of ['a', 'b', 'c']) connection.addMembership(membership(name));
      for (const held of connection.memberships()) connection.removeMembership(held);
      expect(connection.membershipCount).toBe(0);
    });
  });

  describe('heartbeat', () => {
    it('attaches itself to its transport, and a pong resets the count of missed ones', () => {
      const { transport, connection } = setup();
      expect(transport.attached).toBe(connection);
      expect(connection.heartbeat()).toBe(true);
      expect(connection.heartbeat()).toBe(true);
      connection.pongReceived();
      expect(connection.heartbeat()).toBe(true);
      expect(connection.heartbeat()).toBe(true);
      expect(transport.pings).toBe(4);
      expect(connection.heartbeat()).toBe(false);
      expect(transport.isOpen).toBe(false);
    });
  });

  describe('drained', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('resolves once the unsent data falls to the level asked for', async () => {
      const { transport, connection } = setup();
      transport.bufferedAmount = 100_000;
      let done = false;
      void connection.drained(16_384).then(() => (done = true));
      await jest.advanceTimersByTimeAsync(1000);
      expect(done).toBe(false);
      transport.bufferedAmount = 16_384;
      await jest.advanceTimersByTimeAsync(10);
      expect([done, transport.closedWith]).toEqual([true, undefined]);
    });

    it('keeps waiting for a socket that drains slowly, for as long as it drains', async () => {
      const { transport, connection } = setup();
      transport.bufferedAmount = 100_000;
      let done = false;
      void connection.drained(16_384).then(() => (done = true));
      for (let second = 0; second < 60; second++) {
        await jest.advanceTimersByTimeAsync(1000);
        transport.bufferedAmount -= 1000;
      }
      expect([done, transport.closedWith]).toEqual([false, undefined]);
    });

    it('closes as a slow consumer (4009) a socket that drains nothing for 30 s, rather than keep its sender waiting', async () => {
      const { transport, connection } = setup();
      transport.bufferedAmount = 100_000;
      let done = false;
      void connection.drained(16_384).then(() => (done = true));
      await jest.advanceTimersByTimeAsync(29_900);
      expect([done, transport.closedWith]).toEqual([false, undefined]);
      await jest.advanceTimersByTimeAsync(200);
      expect([done, transport.closedWith]).toEqual([true, 4009]);
    });
  });
});
