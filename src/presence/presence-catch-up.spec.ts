import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Broker, RoomEvent } from '../broker/broker.js';
import { LocalBroker } from '../broker/local-broker.js';
import type { RoomEventScreen } from '../delivery/delivery.service.js';
import type { RoomUserPush, UserView } from '../protocol/wire.js';
import { roomKey } from '../rooms/room-key.js';
import { LIST_RETRY_MS, LISTS_IN_FLIGHT, PresenceCatchUp } from './presence-catch-up.js';
import { PresenceDirectory } from './presence-directory.js';

const LOBBY = roomKey('acme', 'lobby');
const SETTLE_MS = 500;
const user = (id: string): UserView => ({ id, name: id.toUpperCase() });

/** The single-node broker, told when it is back in touch with the other nodes (as RedisBroker is after an outage). */
class BackInTouchBroker extends LocalBroker {
  backInTouch(): void {
    this.dispatchReconnect();
  }
}

/** A directory whose lists the test answers, one by one. */
class ListsByHand extends PresenceDirectory {
  readonly lists: Array<{ roomKey: string; answer: (users: UserView[]) => void; fail: (error: Error) => void }> = [];
  /** Every list asked for, in order, answered or not. */
  readonly asked: string[] = [];

  list(roomKey: string): Promise<UserView[]> {
    this.asked.push(roomKey);
    return new Promise((answer, fail) => this.lists.push({ roomKey, answer, fail }));
  }

  async arrive(): Promise<boolean> {
    throw new Error('the catch-up only lists');
  }

  async depart(): Promise<boolean> {
    throw new Error('the catch-up only lists');
  }

  /** Answers the list asked for first among those still waiting. */
  async answer(...users: UserView[]): Promise<void> {
    this.lists.shift()!.answer(users);
    await jest.advanceTimersByTimeAsync(0);
  }

  async fail(): Promise<void> {
    this.lists.shift()!.fail(new Error('Connection is closed.'));
    await jest.advanceTimersByTimeAsync(0);
  }
}

/** This node's members as DeliveryService serves them: what they receive, and what was handed to them alone. */
class MembersHere {
  readonly received: string[] = [];
  readonly deliveredHere: RoomEvent[] = [];
  private screen: RoomEventScreen = () => true;

  constructor(broker: Broker) {
    broker.onRoomEvent((event) => {
      if (this.screen(event)) this.receive(event);
    });
  }

  screenRoomEvents(screen: RoomEventScreen): void {
    this.screen = screen;
  }

  deliverHere(event: RoomEvent): void {
    this.deliveredHere.push(event);
    this.receive(event);
  }

  private receive(event: RoomEvent): void {
    const where = event.roomKey === LOBBY ? '' : ` in ${event.roomKey.split('\u0000')[0]}`;
    this.received.push(`${event.event} ${(event.data as RoomUserPush).user.id}${where}`);
  }
}

function setup(here: string[] = []) {
  const broker = new BackInTouchBroker();
  const directory = new ListsByHand();
  const members = new MembersHere(broker);
  const catchUp = new PresenceCatchUp(directory, broker, members, (key, userId) => key === LOBBY && here.includes(userId), SETTLE_MS);
  /** A push from any node, as the broker hands it over. */
  const push = (event: 'presence.join' | 'presence.leave' | 'typing', id: string, key = LOBBY) =>
    broker.publishRoomEvent({ roomKey: key, event, data: { room: 'lobby', user: user(id) } });
  /** Back in touch, and the lists of every followed room asked for once the directory had time to settle. */
  const backInTouch = async () => {
    broker.backInTouch();
    await jest.advanceTimersByTimeAsync(SETTLE_MS);
  };
  /** No list until the catch-up's wait is over, then one list of the lobby. */
  const listsOnceSettled = async () => {
    await jest.advanceTimersByTimeAsync(SETTLE_MS - 1);
    expect(directory.lists).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(directory.lists.map((list) => list.roomKey)).toEqual([LOBBY]);
  };
  return { broker, directory, members, catchUp, push, backInTouch, listsOnceSettled };
}

describe('PresenceCatchUp', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('tells the members, once the node is back in touch, the leaves and joins they missed, and nothing they were told', async () => {
    const { directory, members, catchUp, push, backInTouch } = setup();
    catchUp.follow(LOBBY, 'lobby');
    await directory.answer(user('ann'), user('bob'));
    push('presence.join', 'carol');
    // Cut off: bob leaves and dave arrives on other nodes, unheard here.
    await backInTouch();
    expect(directory.lists.map((list) => list.roomKey)).toEqual([LOBBY]);
    await directory.answer(user('ann'), user('carol'), user('dave'));
    expect(members.received).toEqual(['presence.join carol', 'presence.leave bob', 'presence.join dave']);
    // Handed to this node's members alone, as the pushes of the room, never to the user they are about.
    expect(members.deliveredHere).toEqual([
      { roomKey: LOBBY, event: 'presence.leave', data: { room: 'lobby', user: { id: 'bob', name: 'BOB' } }, excludeUserId: 'bob' },
      { roomKey: LOBBY, event: 'presence.join', data: { room: 'lobby', user: { id: 'dave', name: 'DAVE' } }, excludeUserId: 'dave' },
    ]);

    // Back in touch again with nothing missed: nothing to tell.
    await backInTouch();
    await directory.answer(user('ann'), user('carol'), user('dave'));
    expect(members.received).toHaveLength(3);
    catchUp.stop();
  });

  it('applies the pushes received while a list runs after its answer, in order: those published after it win', async () => {
    const { directory, members, catchUp, push, backInTouch } = setup();
    catchUp.follow(LOBBY, 'lobby');
    // The list's answer is older than these: ann leaves and erin arrives after it, bob's join came before it.
    push('presence.leave', 'ann');
    push('presence.join', 'erin');
    push('presence.join', 'bob');
    await directory.answer(user('ann'), user('bob'));
    await backInTouch();
    await directory.answer(user('bob'), user('erin'));
    // Before the first list nothing was held back; after it, nothing was missed.
    expect(members.received).toEqual(['presence.leave ann', 'presence.join erin', 'presence.join bob']);

    await backInTouch();
    // While the catch-up's list runs: bob leaves (after the list), fay's join was published before it.
    push('presence.leave', 'bob');
    push('presence.join', 'fay');
    await directory.answer(user('bob'), user('erin'), user('fay'));
    expect(members.received.slice(3)).toEqual(['presence.leave bob', 'presence.join fay']);
    await backInTouch();
    await directory.answer(user('erin'), user('fay'));
    expect(members.received).toHaveLength(5);
    catchUp.stop();
  });

  it('drops a push that tells the members nothing new, as when the directory announces again after an outage', async () => {
    const { directory, members, catchUp, push } = setup();
    catchUp.follow(LOBBY, 'lobby');
    await directory.answer(user('ann'));
    push('presence.join', 'ann');
    push('presence.leave', 'zed');
    push('typing', 'ann');
    push('presence.leave', 'ann');
    push('presence.leave', 'ann');
    push('presence.join', 'ann');
    // Rooms without members here are not screened.
    push('presence.join', 'ann', roomKey('acme', 'elsewhere'));
    expect(members.received).toEqual(['typing ann', 'presence.leave ann', 'presence.join ann', 'presence.join ann in elsewhere']);
    catchUp.stop();
  });

  it('tells no leave of a user with a socket on this node, whom the directory does not list again yet', async () => {
    const { directory, members, catchUp, backInTouch } = setup(['me']);
    catchUp.follow(LOBBY, 'lobby');
    await directory.answer(user('me'), user('bob'));
    await backInTouch();
    await directory.answer(user('bob'));
    expect(members.received).toEqual([]);
    // Still told present: their join, once the directory has them, is not news.
    await backInTouch();
    await directory.answer(user('me'), user('bob'));
    expect(members.received).toEqual([]);
    catchUp.stop();
  });

  it('lists a room again when the directory cannot answer, until it does', async () => {
    const { directory, members, catchUp, backInTouch } = setup();
    catchUp.follow(LOBBY, 'lobby');
    await directory.fail();
    await jest.advanceTimersByTimeAsync(LIST_RETRY_MS);
    await directory.answer(user('ann'));
    await backInTouch();
    await directory.fail();
    expect(directory.lists).toEqual([]);
    await jest.advanceTimersByTimeAsync(LIST_RETRY_MS);
    await directory.fail();
    await jest.advanceTimersByTimeAsync(LIST_RETRY_MS);
    await directory.answer(user('bob'));
    expect(members.received).toEqual(['presence.leave ann', 'presence.join bob']);
    catchUp.stop();
  });

  it('lists once the directory had time to settle after the last reconnect, and tells nothing of a list sent before it', async () => {
    const { broker, directory, members, catchUp, listsOnceSettled } = setup();
    catchUp.follow(LOBBY, 'lobby');
    await directory.answer(user('ann'));
    broker.backInTouch();
    await jest.advanceTimersByTimeAsync(SETTLE_MS - 1);
    broker.backInTouch();
    await listsOnceSettled();
    // Back in touch again while that list runs: its answer may be older than the directory's settling.
    broker.backInTouch();
    await directory.answer(user('bob'));
    expect(members.received).toEqual([]);
    await jest.advanceTimersByTimeAsync(SETTLE_MS);
    await directory.answer(user('bob'));
    expect(members.received).toEqual(['presence.leave ann', 'presence.join bob']);
    catchUp.stop();
  });

  it('lists a room again after a list that was running when the catch-up came', async () => {
    const { directory, members, catchUp, push, backInTouch } = setup();
    catchUp.follow(LOBBY, 'lobby');
    await backInTouch();
    expect(directory.lists).toHaveLength(1);
    await directory.answer(user('ann'));
    expect(directory.lists).toHaveLength(1);
    await directory.answer(user('ann'));
    // What the members were told is known from then on.
    push('presence.join', 'ann');
    expect(members.received).toEqual([]);
    catchUp.stop();
  });

  it('leaves a list waiting to be tried again to the catch-up when the node is back in touch meanwhile', async () => {
    const { broker, directory, catchUp, backInTouch, listsOnceSettled } = setup();
    catchUp.follow(LOBBY, 'lobby');
    await directory.answer(user('ann'));
    await backInTouch();
    await directory.fail();
    await jest.advanceTimersByTimeAsync(LIST_RETRY_MS - SETTLE_MS / 2);
    // Redis answers again, but the other nodes may not be back in the directory yet.
    broker.backInTouch();
    await listsOnceSettled();
    // A list that fails while a catch-up is on its way is left to it.
    broker.backInTouch();
    await directory.fail();
    await listsOnceSettled();
    catchUp.stop();
  });

  it('drops a repeated join heard before any list answered, as after a Redis restart when the first list failed', async () => {
    const { broker, directory, members, catchUp, push, backInTouch } = setup();
    // The room gets its first member here while the node's connection to Redis is down (it is reconnecting).
    catchUp.follow(LOBBY, 'lobby');
    await directory.fail();
    push('presence.join', 'stayer');
    // Redis restarts before a list answers: back in touch, the stayer's node puts them back and announces them again.
    await jest.advanceTimersByTimeAsync(LIST_RETRY_MS);
    await directory.fail();
    broker.backInTouch();
    push('presence.join', 'stayer');
    push('presence.leave', 'leaver');
    push('presence.leave', 'leaver');
    expect(members.received).toEqual(['presence.join stayer', 'presence.leave leaver']);
    await jest.advanceTimersByTimeAsync(SETTLE_MS);
    await directory.answer(user('stayer'));
    push('presence.join', 'stayer');
    expect(members.received).toEqual(['presence.join stayer', 'presence.leave leaver']);

    // A first list that was sent before the node was back in touch tells nothing, and neither does a repeat after it.
    catchUp.follow(roomKey('acme', 'side'), 'side');
    push('presence.join', 'stayer', roomKey('acme', 'side'));
    await backInTouch();
    await directory.answer(user('stayer'));
    push('presence.join', 'stayer', roomKey('acme', 'side'));
    expect(members.received.slice(2)).toEqual(['presence.join stayer in side']);
    catchUp.stop();
  });

  it('tells the members what changed of the users the pushes told them about when the first list answers after an outage', async () => {
    const { directory, members, catchUp, push, backInTouch } = setup(['me']);
    catchUp.follow(LOBBY, 'lobby');
    await directory.fail();
    push('presence.join', 'stayer');
    push('presence.join', 'me');
    push('presence.leave', 'bob');
    // The stayer's node is not back in the directory yet, and bob came back unheard.
    await backInTouch();
    await directory.answer(user('bob'), user('carol'));
    expect(members.received).toEqual(['presence.join stayer', 'presence.join me', 'presence.leave bob', 'presence.leave stayer', 'presence.join bob']);
    // The stayer's node back: their join is news again; nothing about carol, whom the members were not told about.
    push('presence.join', 'stayer');
    push('presence.join', 'carol');
    expect(members.received.slice(5)).toEqual(['presence.join stayer']);
    catchUp.stop();
  });

  it('forgets a room whose last member here left, and everything once stopped', async () => {
    const { directory, members, catchUp, push, backInTouch } = setup();
    catchUp.follow(LOBBY, 'lobby');
    await directory.answer(user('ann'));
    await backInTouch();
    catchUp.unfollow(LOBBY);
    await directory.answer(user('bob'));
    // Not screened any more either.
    push('presence.leave', 'zed');
    expect(members.received).toEqual(['presence.leave zed']);

    catchUp.follow(LOBBY, 'lobby');
    await directory.fail();
    catchUp.stop();
    await jest.advanceTimersByTimeAsync(LIST_RETRY_MS);
    await backInTouch();
    expect(directory.lists).toEqual([]);
    catchUp.follow(LOBBY, 'lobby');
    expect(directory.lists).toEqual([]);
  });

  describe(`with more rooms than ${LISTS_IN_FLIGHT} lists at once`, () => {
    const rooms = Array.from({ length: LISTS_IN_FLIGHT + 4 }, (_, i) => roomKey('acme', `room-${i}`));
    const listedRooms = (directory: ListsByHand) => directory.lists.map((list) => rooms.indexOf(list.roomKey));
    const upTo = (count: number, from = 0) => Array.from({ length: count - from }, (_, i) => from + i);

    it('sends the others as lists answer, first asked first, each room once', async () => {
      const { directory, catchUp } = setup();
      for (const key of rooms) catchUp.follow(key, key);
      // Asked again while waiting: still one list.
      catchUp.follow(rooms.at(-1)!, 'again');
      expect(listedRooms(directory)).toEqual(upTo(LISTS_IN_FLIGHT));
      await directory.answer();
      await directory.fail();
      expect(listedRooms(directory)).toEqual([...upTo(LISTS_IN_FLIGHT, 2), LISTS_IN_FLIGHT, LISTS_IN_FLIGHT + 1]);
      while (directory.lists.length > 0) await directory.answer();
      expect(directory.asked).toEqual(rooms);
      // The failed one again, after the retry's wait.
      await jest.advanceTimersByTimeAsync(LIST_RETRY_MS);
      expect(listedRooms(directory)).toEqual([1]);
      catchUp.stop();
    });

    it('leaves the rooms still waiting to the next catch-up when the node is back in touch again, listing none before the directory settled', async () => {
      const { broker, directory, members, catchUp, backInTouch } = setup();
      for (const key of rooms) catchUp.follow(key, key);
      while (directory.lists.length > 0) await directory.answer(user('ann'));
      await backInTouch();
      // Out of touch again while four rooms wait: the lists out answer, from a directory that lost ann for now.
      broker.backInTouch();
      while (directory.lists.length > 0) await directory.answer();
      expect(directory.lists).toEqual([]);
      await jest.advanceTimersByTimeAsync(SETTLE_MS);
      while (directory.lists.length > 0) await directory.answer(user('ann'));
      expect(directory.asked.slice(rooms.length)).toEqual([...upTo(LISTS_IN_FLIGHT), ...upTo(rooms.length)].map((i) => rooms[i]));
      expect(members.received).toEqual([]);
      catchUp.stop();
    });

    it('lists every room the same way once the node is back in touch, skipping one whose last member left while it waited', async () => {
      const { directory, members, catchUp, backInTouch } = setup();
      for (const key of rooms) catchUp.follow(key, key);
      while (directory.lists.length > 0) await directory.answer();
      await backInTouch();
      expect(listedRooms(directory)).toEqual(upTo(LISTS_IN_FLIGHT));
      catchUp.unfollow(rooms.at(-1)!);
      for (let answered = 0; answered < LISTS_IN_FLIGHT; answered++) await directory.answer(user('ann'));
      expect(listedRooms(directory)).toEqual(upTo(LISTS_IN_FLIGHT + 3, LISTS_IN_FLIGHT));
      while (directory.lists.length > 0) await directory.answer(user('ann'));
      // Ann joined while the node was out of touch: the members of each room still followed are told, once.
      expect(members.deliveredHere.length).toBe(rooms.length - 1);
      catchUp.stop();
    });
  });
});
