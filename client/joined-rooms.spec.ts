import { JoinedRooms } from './joined-rooms.js';

/** Feeds `message` pushes and returns the seqs let through. */
function passed(rooms: JoinedRooms, room: string, seqs: number[]): number[] {
  return seqs.filter((seq) => rooms.acceptMessage(room, seq));
}

describe('JoinedRooms', () => {
  it('lets each seq through once and never one lower than the last, as a reconnect replays what was already seen', () => {
    const rooms = new JoinedRooms();
    rooms.want('general');
    rooms.joined('general', 4);
    expect(passed(rooms, 'general', [5, 6, 7])).toEqual([5, 6, 7]);
    expect(rooms.since('general')).toBe(7);
    // The resume after a reconnect: since 7; the server replays from 8, a late live push repeats 7 and 8.
    expect(passed(rooms, 'general', [7, 8, 8, 9, 3, 10])).toEqual([8, 9, 10]);
  });

  it('starts a first join after the lastSeq of its reply, and resumes from the last seq seen afterwards', () => {
    const rooms = new JoinedRooms();
    rooms.want('general');
    expect(rooms.since('general')).toBeUndefined();
    rooms.joined('general', 12);
    expect(rooms.since('general')).toBe(12);
    expect(passed(rooms, 'general', [11, 12, 13])).toEqual([13]);
    // A rejoin's reply does not move the cursor: its replay does.
    rooms.joined('general', 20);
    expect(rooms.since('general')).toBe(13);
  });

  it('replays on purpose when the app joins with an explicit since', () => {
    const rooms = new JoinedRooms();
    rooms.want('general');
    rooms.joined('general', 0);
    expect(passed(rooms, 'general', [1, 2, 3])).toEqual([1, 2, 3]);
    rooms.want('general');
    expect(rooms.since('general')).toBe(3);
    rooms.want('general', 1);
    rooms.joined('general', 3);
    expect(passed(rooms, 'general', [2, 3, 4])).toEqual([2, 3, 4]);
  });

  it('holds back live messages between a join with an explicit since and its reply: the replay brings them', () => {
    const rooms = new JoinedRooms();
    rooms.want('general');
    rooms.joined('general', 0);
    expect(passed(rooms, 'general', [1, 2, 3])).toEqual([1, 2, 3]);
    rooms.want('general', 1);
    // Still a member: a live push of the old membership comes before the reply.
    expect(passed(rooms, 'general', [4])).toEqual([]);
    rooms.joined('general', 4);
    expect(passed(rooms, 'general', [2, 3, 4, 5])).toEqual([2, 3, 4, 5]);
    // A join that failed lets live messages through again.
    rooms.want('general', 0);
    rooms.joinFailed('general');
    expect(passed(rooms, 'general', [6])).toEqual([6]);
  });

  it('keeps its place until the reply of a join with an explicit since, and passes on what it held back if that join fails', () => {
    const rooms = new JoinedRooms<string>();
    rooms.want('general');
    rooms.joined('general', 10);
    rooms.want('general', 2);
    // The join goes out with the since asked for; the filter stays where it was until the reply.
    expect(rooms.since('general')).toBe(2);
    expect(rooms.acceptMessage('general', 11, 'eleven')).toBe(false);
    expect(rooms.joinFailed('general')).toEqual(['eleven']);
    expect(passed(rooms, 'general', [11, 12])).toEqual([12]);
    expect(rooms.since('general')).toBe(12);
  });

  it('keeps rooms apart and drops pushes for rooms it does not want', () => {
    const rooms = new JoinedRooms();
    rooms.want('a', 0);
    rooms.want('b', 5);
    rooms.joined('a', 0);
    rooms.joined('b', 5);
    expect(passed(rooms, 'a', [1, 2])).toEqual([1, 2]);
    expect(passed(rooms, 'b', [2, 6])).toEqual([6]);
    rooms.forget('a');
    expect(passed(rooms, 'a', [3])).toEqual([]);
    expect(rooms.names()).toEqual(['b']);
  });
});
