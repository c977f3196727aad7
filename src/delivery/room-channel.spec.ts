import type { RoomRecord } from '../rooms/rooms.service.js';
import { RoomChannel, type ChannelSource } from './room-channel.js';

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
});
