import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import * as adminDtos from '../admin/dto/admin.dto.js';
import { TokenDto } from '../auth/dto/token.dto.js';
import { DevTokenRequestDto } from '../dev-tokens/dto/dev-token.dto.js';
import * as fallbackDtos from '../fallback/dto/fallback.dto.js';
import * as messageDtos from '../messages/dto/message.dto.js';
import { JoinRoomDto, RoomDto } from '../rooms/dto/room.dto.js';
import { quickAcceptanceFor } from './quick-acceptance.js';
import { realtimeValidationPipe } from './validation.pipe.js';

/**
 * The quick path may only ever say yes where the full pipe says yes, with
 * the same DTO: thousands of random inputs per DTO, built from the values
 * the constraints sit on the edges of.
 */
const dtos = ([...Object.values(adminDtos), ...Object.values(fallbackDtos), ...Object.values(messageDtos), TokenDto, DevTokenRequestDto, RoomDto, JoinRoomDto] as unknown[])
  // The DTO files also export their limits.
  .filter((dto): dto is Function => typeof dto === 'function');

const VALUES: unknown[] = [
  'general', 'a', 'a'.repeat(128), 'a'.repeat(129), '', ' ', 'bad name!', 'tenant:room.1_x-y', 'x\u0000y', '\uD800', 'é😀', 'x'.repeat(4001),
  'ey.J.w', '12', '1e3', '007', 'viewer', 'message.send', 'room.*',
  0, 1, -1, 1.5, 50, 100, 101, 2 ** 53, 1e300,
  true, false, null,
  {}, { a: 1 }, { nested: { deep: [1, 2, 3] } }, { big: 'x'.repeat(17_000) },
  [], ['a'], [1, 2],
];

function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** The pipe without the quick path: the base ValidationPipe's transform on the configured instance. */
const fullPipe = (value: unknown, metadata: ArgumentMetadata) => ValidationPipe.prototype.transform.call(realtimeValidationPipe, value, metadata);

describe('quick acceptance of valid input', () => {
  it.each(dtos.map((dto) => [dto.name, dto] as const))('never accepts what the full pipe refuses, and builds the same DTO: %s', async (_, dto) => {
    const accept = quickAcceptanceFor(dto);
    const properties = Object.keys(getMetadataStorage().groupByPropertyName(getMetadataStorage().getTargetValidationMetadatas(dto, '', false, false)));
    const next = random(dto.name.length * 7919);
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
    const metadata: ArgumentMetadata = { type: 'body', metatype: dto as ArgumentMetadata['metatype'] };
    let acceptedQuickly = 0;
    for (let i = 0; i < 3000; i++) {
      const input: Record<string, unknown> = {};
      for (const property of properties) if (next() < 0.8) input[property] = pick(VALUES);
      if (next() < 0.05) input.extra = pick(VALUES);
      // Through JSON, as frames arrive: `__proto__` becomes an own key.
      const json = JSON.stringify(input).replace(/^\{/, next() < 0.03 ? '{"__proto__":{"polluted":1},' : '{').replace(',}', '}');
      const value = JSON.parse(json) as unknown;
      const quick = accept?.(JSON.parse(json));
      if (quick === undefined) continue;
      acceptedQuickly++;
      const full = await fullPipe(value, metadata);
      expect(quick).toBeInstanceOf(dto);
      expect(full).toBeInstanceOf(dto);
      expect({ ...quick }).toEqual({ ...full });
    }
    // The properties are few: random picks land on valid inputs often enough for the comparison to mean something.
    if (accept) expect(acceptedQuickly).toBeGreaterThan(0);
  });

  it('takes the quick path for the frames of a chat', () => {
    const send = quickAcceptanceFor(messageDtos.SendMessageDto)!;
    expect(send({ room: 'general', text: 'hello', clientMsgId: 'c1' })).toBeInstanceOf(messageDtos.SendMessageDto);
    expect(send({ room: 'general', payload: { kind: 'order', id: 7 }, clientMsgId: 'c2' })).toBeInstanceOf(messageDtos.SendMessageDto);
    expect(quickAcceptanceFor(JoinRoomDto)!({ room: 'general', since: 12 })).toBeInstanceOf(JoinRoomDto);
    expect(quickAcceptanceFor(RoomDto)!({ room: 'general' })).toBeInstanceOf(RoomDto);
  });

  it('leaves to the full pipe what it must word or strip', () => {
    const send = quickAcceptanceFor(messageDtos.SendMessageDto)!;
    expect(send({ room: 'general', clientMsgId: 'c1' })).toBeUndefined(); // no content
    expect(send({ room: 'bad name!', text: 'x', clientMsgId: 'c1' })).toBeUndefined();
    expect(send({ room: 'general', text: 'x', clientMsgId: 'c1', extra: 1 })).toBeUndefined(); // stripped by the whitelist
    expect(send(JSON.parse('{"__proto__":{"x":1},"room":"general","text":"x","clientMsgId":"c1"}'))).toBeUndefined();
    expect(send(['general'])).toBeUndefined();
    // Query DTOs convert their text with class-transformer: always the full pipe.
    expect(quickAcceptanceFor(adminDtos.AuditQueryDto)).toBeNull();
  });
});
