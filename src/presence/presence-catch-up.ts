import { Logger } from '@nestjs/common';
import type { Broker, RoomEvent } from '../broker/broker.js';
import type { DeliveryService } from '../delivery/delivery.service.js';
import { ServerEvent } from '../protocol/events.js';
import type { RoomUserPush, UserView } from '../protocol/wire.js';
import type { PresenceDirectory } from './presence-directory.js';

/** How long a room whose presence could not be listed (Redis still away) waits before it is listed again. */
export const LIST_RETRY_MS = 1000;
/**
 * Rooms listed at once. After an outage a node lists every room it follows,
 * thousands of them: all at once, Redis would get them in one burst, and
 * their answers would arrive together and hold the event loop.
 */
export const LISTS_IN_FLIGHT = 16;

/** A room with members on this node. */
interface FollowedRoom {
  name: string;
  /** The users its members were told are in the room (id -> name); null until a list answered. */
  told: Map<string, string> | null;
  /**
   * Until a list answered, what the pushes let through told the members of each user they were about
   * (id -> name if there, null if gone): a repeat tells them nothing new, and the first list tells them
   * what changed for these users. The list that was to start `told` may fail or be discarded, and
   * pushes keep coming meanwhile (a Redis restart's re-announcements among them).
   */
  heardBeforeList: Map<string, string | null>;
  /** Presence pushes received since the running list was sent, in order; null while no list runs. */
  pushesDuringList: RoomEvent[] | null;
  /** Asked for while a list ran: listed again once it answers. */
  listAgain: boolean;
}

/**
 * Presence pushes cross the cluster through Redis pub/sub, which keeps
 * nothing: those published while this node's subscription was down never
 * reach its members. So each room with members here keeps the presence they
 * were told (the directory's list when the room got its first member here,
 * then each push the node let through), and when the node is back in touch
 * with the others every such room is listed again: its members get the joins
 * and leaves they missed, as ordinary pushes, never about themselves.
 *
 * A push that would tell them nothing new (a join of a user they were told is
 * here, a leave of one they were told is not) is dropped: after an outage the
 * directory announces again what the other nodes may have missed (a rejoin's
 * joins, the reaper's leaves), which these members may have heard already.
 */
export class PresenceCatchUp {
  private readonly logger = new Logger('RealtimePresence');
  private readonly rooms = new Map<string, FollowedRoom>();
  /** Rooms whose list failed, waiting for the retry timer. */
  private readonly listRetries = new Set<string>();
  /** Lists sent and not answered yet (at most LISTS_IN_FLIGHT). */
  private listing = 0;
  /** Rooms waiting for a list to answer before theirs is sent, in the order they were asked for. */
  private readonly waitingToList = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Armed when the node is back in touch: the lists of every followed room, once the directory settled. */
  private catchUpTimer: NodeJS.Timeout | undefined;
  /** Times the node was back in touch: a list sent before the latest one tells nothing. */
  private backInTouch = 0;
  private stopped = false;

  constructor(
    private readonly directory: PresenceDirectory,
    broker: Broker,
    private readonly members: Pick<DeliveryService, 'screenRoomEvents' | 'deliverHere'>,
    /** Whether the user has a socket in the room on this node. */
    private readonly isHere: (roomKey: string, userId: string) => boolean,
    /**
     * How long after the node is back in touch the rooms are listed. The other
     * nodes may still be reconnecting and putting their users back in the
     * directory (a restarted Redis forgot them all): a list taken at once
     * would have their users leave, then join again.
     */
    private readonly settleMs: number,
  ) {
    members.screenRoomEvents((event) => this.screen(event));
    broker.onReconnect(() => this.catchUpLater());
  }

  /** The room got its first member on this node: what they are told starts from the directory's list. */
  follow(roomKey: string, roomName: string): void {
    if (this.stopped) return;
    const room: FollowedRoom = { name: roomName, told: null, heardBeforeList: new Map(), pushesDuringList: null, listAgain: false };
    this.rooms.set(roomKey, room);
    this.list(roomKey, room);
  }

  /** The room's last member on this node left. */
  unfollow(roomKey: string): void {
    this.rooms.delete(roomKey);
    this.listRetries.delete(roomKey);
    this.waitingToList.delete(roomKey);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.catchUpTimer);
    this.rooms.clear();
    this.listRetries.clear();
    this.waitingToList.clear();
  }

  /** Each room event from the broker: whether this node's members get it. */
  private screen(event: RoomEvent): boolean {
    if (event.event !== ServerEvent.PRESENCE_JOIN && event.event !== ServerEvent.PRESENCE_LEAVE) return true;
    const room = this.rooms.get(event.roomKey);
    if (!room) return true;
    room.pushesDuringList?.push(event);
    if (room.told) return apply(room.told, event);
    // Until a list answers, what the members were told is known only of the users the pushes were about.
    const { user } = event.data as RoomUserPush;
    const there = event.event === ServerEvent.PRESENCE_JOIN;
    const heard = room.heardBeforeList.get(user.id);
    if (heard !== undefined && (heard !== null) === there) return false;
    room.heardBeforeList.set(user.id, there ? user.name : null);
    return true;
  }

  /**
   * Lists every followed room once the directory settled; a reconnect during
   * the wait starts it again. Lists waiting to be tried again are part of it:
   * Redis answers again, but the directory has not settled yet.
   */
  private catchUpLater(): void {
    if (this.stopped) return;
    this.backInTouch++;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.listRetries.clear();
    // Listed by the catch-up, once the directory settled: sent as places free up, they would read it before.
    this.waitingToList.clear();
    clearTimeout(this.catchUpTimer);
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = undefined;
      for (const [roomKey, room] of this.rooms) this.list(roomKey, room);
    }, this.settleMs);
    this.catchUpTimer.unref();
  }

  /** Lists the room now, or once fewer than LISTS_IN_FLIGHT lists are out; again after the one running. */
  private list(roomKey: string, room: FollowedRoom): void {
    if (room.pushesDuringList) room.listAgain = true;
    else if (this.listing >= LISTS_IN_FLIGHT) this.waitingToList.add(roomKey);
    else void this.send(roomKey, room);
  }

  private async send(roomKey: string, room: FollowedRoom): Promise<void> {
    this.listing++;
    room.pushesDuringList = [];
    const backInTouch = this.backInTouch;
    let listed: UserView[];
    try {
      listed = await this.directory.list(roomKey);
    } catch (error) {
      room.pushesDuringList = null;
      // The retry lists it anyway.
      room.listAgain = false;
      if (this.rooms.get(roomKey) === room) this.listLater(roomKey, error as Error);
      return;
    } finally {
      this.listing--;
      this.sendWaiting();
    }
    const pushes = room.pushesDuringList;
    room.pushesDuringList = null;
    // Its last member here left meanwhile (or the node is shutting down).
    if (this.rooms.get(roomKey) !== room) return;
    // Sent before the node was back in touch, it may have read a directory that had not settled:
    // the catch-up lists the room again.
    if (backInTouch === this.backInTouch) this.tellWhatChanged(roomKey, room, listed, pushes);
    if (room.listAgain) {
      room.listAgain = false;
      this.list(roomKey, room);
    }
  }

  /** Sends the lists of the rooms waiting for a place, first asked first. */
  private sendWaiting(): void {
    for (const roomKey of this.waitingToList) {
      if (this.listing >= LISTS_IN_FLIGHT) return;
      this.waitingToList.delete(roomKey);
      const room = this.rooms.get(roomKey);
      if (room) this.list(roomKey, room);
    }
  }

  /**
   * The list is the presence when Redis answered; the pushes received since
   * it was sent come after it: applied in order, one published after the list
   * wins, one published before changes nothing the list does not say already.
   */
  private tellWhatChanged(roomKey: string, room: FollowedRoom, listed: UserView[], pushes: RoomEvent[]): void {
    const present = new Map(listed.map((user) => [user.id, user.name]));
    for (const push of pushes) apply(present, push);
    // The first list: of a user no push was about, the members know what they listed themselves.
    const told = room.told ?? toldBeforeList(present, room.heardBeforeList);
    room.told = present;
    room.heardBeforeList.clear();
    for (const [id, name] of told) {
      if (present.has(id)) continue;
      // A user with a socket here is in the room, whatever the list says: the directory
      // may not have them back yet (this node's rejoin after an outage may still run).
      if (this.isHere(roomKey, id)) present.set(id, name);
      else this.tell(roomKey, room, ServerEvent.PRESENCE_LEAVE, id, name);
    }
    for (const [id, name] of present) if (!told.has(id)) this.tell(roomKey, room, ServerEvent.PRESENCE_JOIN, id, name);
  }

  private tell(roomKey: string, room: FollowedRoom, event: string, id: string, name: string): void {
    const push: RoomUserPush = { room: room.name, user: { id, name } };
    this.members.deliverHere({ roomKey, event, data: push, excludeUserId: id });
  }

  /** One timer for every room whose list failed: an outage fails them all at once. */
  private listLater(roomKey: string, failure: Error): void {
    // A catch-up on its way lists every room.
    if (this.stopped || this.catchUpTimer) return;
    this.listRetries.add(roomKey);
    if (this.retryTimer) return;
    this.logger.warn(`listing presence to tell the members what they missed: ${failure.message}; again in ${LIST_RETRY_MS} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const retried = [...this.listRetries];
      this.listRetries.clear();
      for (const key of retried) {
        const room = this.rooms.get(key);
        if (room) this.list(key, room);
      }
    }, LIST_RETRY_MS);
    this.retryTimer.unref();
  }
}

/** What the members were told before the first list: what the pushes said, and the list for the users they were not about. */
function toldBeforeList(present: Map<string, string>, heard: Map<string, string | null>): Map<string, string> {
  const told = new Map(present);
  for (const [id, name] of heard) {
    if (name === null) told.delete(id);
    else told.set(id, name);
  }
  return told;
}

/** Applies a presence push to a room's users; whether it changed who is there. */
function apply(users: Map<string, string>, push: RoomEvent): boolean {
  const { user } = push.data as RoomUserPush;
  if (push.event === ServerEvent.PRESENCE_LEAVE) return users.delete(user.id);
  const arrived = !users.has(user.id);
  users.set(user.id, user.name);
  return arrived;
}
