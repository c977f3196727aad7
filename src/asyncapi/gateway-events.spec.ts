import 'reflect-metadata';
import { RealtimeGateway } from '../gateway/realtime.gateway.js';
import { ClientEvent } from '../protocol/events.js';
import { JoinReply, Pong } from '../protocol/wire.js';
import { JoinRoomDto } from '../rooms/dto/room.dto.js';
import { gatewayEvents } from './gateway-events.js';

describe('gatewayEvents', () => {
  const events = gatewayEvents(RealtimeGateway);

  it('finds a handler for every client event, with its DTO and reply', () => {
    expect(events.map((e) => e.event).sort()).toEqual(Object.values(ClientEvent).sort());
    expect(events.find((e) => e.event === ClientEvent.ROOM_JOIN)).toEqual({
      event: 'room.join',
      data: JoinRoomDto,
      reply: JoinReply,
      permissions: ['room.join'],
      beforeAuthentication: false,
    });
    expect(events.find((e) => e.event === ClientEvent.PING)).toEqual({
      event: 'ping',
      data: undefined,
      reply: Pong,
      permissions: [],
      beforeAuthentication: false,
    });
  });
});
