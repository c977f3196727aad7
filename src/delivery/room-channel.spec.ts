import type { RoomRecord } from '../rooms/rooms.service.js';
import { RoomChannel, type ChannelSource } from './room-channel.js';
import type { RoomMembership } from './room-membership.js';

const ROOM: RoomRecord = { id: 1, tenantId: '', name: 'general', key: '\ngeneral', archived: false };

function channelAt(lastSeq: number): RoomChannel {
  const source: ChannelSource = { lastSeq: async () => lastSeq, framesAfter: async () => [] };
  return new RoomChannel(ROOM, source, Promise.resolve(), () => undefined);
}

describe('RoomChannel message watchers', () => {
  it('hear each live message once, in seq order, and nothing stored before the channel started', async () => {
    const channel = channelAt(4);
    const heard: number[] = [];
    channel.messageWatchers.add((seq) => heard.push(seq));
    await channel.ready;
    channel.push('m4', 4);
    channel.push('m6', 6);
    channel.push('m5', 5);
    channel.push('m5 again', 5);
    channel.push('typing');
    expect(heard).toEqual([5, 6]);
    channel.close();
  });

  it('hold messages that come before the channel knows where the room starts, and any after a gap, then hear them in order', async () => {
    let start!: (lastSeq: number) => void;
    const lastSeq = new Promise<number>((resolve) => (start = resolve));
    const channel = new RoomChannel(ROOM, { lastSeq: () => lastSeq, framesAfter: async () => [] }, Promise.resolve(), () => undefined);
    const heard: number[] = [];
    channel.messageWatchers.add((seq) => heard.push(seq));
    channel.push('m1', 1);
    channel.push('m3', 3);
    await Promise.resolve();
    expect(heard).toEqual([]);
    start(0);
    await channel.ready;
    expect(heard).toEqual([1]);
    channel.push('m4', 4);
    expect(heard).toEqual([1]);
    channel.push('m2', 2);
    expect(heard).toEqual([1, 2, 3, 4]);
    channel.push('m5', 5);
    expect(heard).toEqual([1, 2, 3, 4, 5]);
    channel.close();
  });

  it('read a gap from the database every time one stays open, also after an earlier gap was filled live', async () => {
    const reads: number[] = [];
    const source: ChannelSource = { lastSeq: async () => 0, framesAfter: async (_room, seq) => (reads.push(seq), []) };
    const channel = new RoomChannel(ROOM, source, Promise.resolve(), () => undefined);
    await channel.ready;
    const waitForGapRead = () => new Promise((resolve) => setTimeout(resolve, 80));
    channel.push('m2', 2);
    channel.push('m1', 1);
    await waitForGapRead();
    expect(reads).toEqual([]);
    channel.push('m4', 4);
    await waitForGapRead();
    expect(reads).toEqual([2]);
    channel.close();
  });
});

describe('RoomChannel catch-ups', () => {
  it('do not skip the seqs before a message that came while the last read was in flight: they were stored after it began', async () => {
    const stored = new Map<number, string>([
      [1, 'm1'],
      [2, 'm2'],
    ]);
    let reads = 0;
    let channel!: RoomChannel;
    const source: ChannelSource = {
      lastSeq: async () => 0,
      framesAfter: async (_room, after) => {
        // The read's snapshot: what is stored as it begins.
        const snapshot = [...stored].filter(([seq]) => seq > after).map(([seq, frame]) => ({ seq, frame }));
        if (++reads === 2) {
          // While the second read is in flight, seq 3 is committed and seq 4 arrives from another node.
          stored.set(3, 'm3').set(4, 'm4');
          channel.push('m4', 4);
        }
        await Promise.resolve();
        return snapshot;
      },
    };
    channel = new RoomChannel(ROOM, source, Promise.resolve(), () => undefined);
    const heard: number[] = [];
    channel.messageWatchers.add((seq) => heard.push(seq));
    await channel.ready;
    channel.push('m2', 2);
    for (let waited = 0; heard.length < 4 && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heard).toEqual([1, 2, 3, 4]);
    expect(reads).toBe(4);
    channel.close();
  });
});

describe('RoomChannel.lastDelivered', () => {
  it('is where the room stood when the channel started, then each message handed over, not one waiting behind a gap', async () => {
    const channel = channelAt(7);
    expect(() => channel.lastDelivered).toThrow('not ready');
    await channel.ready;
    expect(channel.lastDelivered).toBe(7);
    channel.push('m8', 8);
    expect(channel.lastDelivered).toBe(8);
    channel.push('m10', 10);
    expect(channel.lastDelivered).toBe(8);
    channel.push('m9', 9);
    expect(channel.lastDelivered).toBe(10);
    channel.push('typing');
    expect(channel.lastDelivered).toBe(10);
    channel.close();
  });
});

describe('RoomChannel edits and deletions', () => {
  /** A channel whose one member records the frames handed to it. */
  async function channelWithMember(lastSeq: number, stored: Array<{ seq: number; frame: string }> = []) {
    const reads: number[] = [];
    const source: ChannelSource = {
      lastSeq: async () => lastSeq,
      framesAfter: async (_room, after) => (reads.push(after), stored.filter((entry) => entry.seq > after)),
    };
    const channel = new RoomChannel(ROOM, source, Promise.resolve(), () => undefined);
    const received: string[] = [];
    channel.members.add({ connection: { id: 'c1' }, deliver: (frame: string) => received.push(frame) } as unknown as RoomMembership);
    await channel.ready;
    return { channel, received, reads };
  }
  const afterGapRead = () => new Promise((resolve) => setTimeout(resolve, 120));

  it('follow the message they change when it is still on its way, and go at once when it has been handed over', async () => {
    const { channel, received } = await channelWithMember(10);
    channel.push('edit 10', undefined, undefined, 10);
    expect(received).toEqual(['edit 10']);
    channel.push('m12', 12);
    channel.push('delete 12', undefined, undefined, 12);
    channel.push('typing');
    expect(received).toEqual(['edit 10', 'typing']);
    channel.push('m11', 11);
    expect(received).toEqual(['edit 10', 'typing', 'm11', 'm12', 'delete 12']);
    channel.close();
  });

  it('bring the message from the database when it does not come through the broker', async () => {
    const { channel, received } = await channelWithMember(10, [{ seq: 11, frame: 'm11 as stored' }]);
    channel.push('edit 11', undefined, undefined, 11);
    channel.push('edit 11 again', undefined, undefined, 11);
    expect(received).toEqual([]);
    await afterGapRead();
    expect(received).toEqual(['m11 as stored', 'edit 11', 'edit 11 again']);
    channel.close();
  });

  it('are sent after a catch-up that started after they came found nothing, and do not keep the channel reading', async () => {
    const { channel, received, reads } = await channelWithMember(10);
    channel.push('edit 15', undefined, undefined, 15);
    await afterGapRead();
    expect(received).toEqual(['edit 15']);
    await afterGapRead();
    expect(reads).toEqual([10]);
    channel.close();
  });
});

describe('RoomChannel, a catch-up asked for while another is reading', () => {
  it('runs after it: what was stored after the running read began is read too', async () => {
    const stored = new Map<number, string>();
    let releaseRead!: () => void;
    let reads = 0;
    const source: ChannelSource = {
      lastSeq: async () => 0,
      framesAfter: async (_room, after) => {
        const snapshot = [...stored].filter(([seq]) => seq > after).map(([seq, frame]) => ({ seq, frame }));
        if (++reads === 1) await new Promise<void>((resolve) => (releaseRead = resolve));
        return snapshot;
      },
    };
    const channel = new RoomChannel(ROOM, source, Promise.resolve(), () => undefined);
    const heard: number[] = [];
    channel.messageWatchers.add((seq) => heard.push(seq));
    await channel.ready;
    // A catch-up starts (a resync from one node, or a gap fill) and its read is slow.
    void channel.catchUp();
    // Meanwhile another node, cut off from Redis, stores seq 1 (its publish fails) ...
    stored.set(1, 'm1');
    // ... and, back in touch, tells this node to catch up (resync / this node's own reconnect).
    void channel.catchUp();
    releaseRead();
    for (let waited = 0; heard.length < 1 && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heard).toEqual([1]);
    channel.close();
  });
});
