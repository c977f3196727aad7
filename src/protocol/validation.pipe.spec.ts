import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import * as adminDtos from '../admin/dto/admin.dto.js';
import { TokenDto } from '../auth/dto/token.dto.js';
import * as messageDtos from '../messages/dto/message.dto.js';
import { SendMessageDto } from '../messages/dto/message.dto.js';
import { JoinRoomDto, RoomDto } from '../rooms/dto/room.dto.js';
import { RealtimeError } from './error-codes.js';
import { realtimeValidationPipe } from './validation.pipe.js';

const body = (metatype: Function): ArgumentMetadata => ({ type: 'body', metatype: metatype as ArgumentMetadata['metatype'] });

/** A frame's data as it arrives: parsed JSON, so `__proto__` is an own key like any other. */
const parsed = (value: unknown) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

function manyUnknownProperties(count: number, base: Record<string, unknown>): Record<string, unknown> {
  const value = { ...base };
  for (let i = 0; i < count; i++) value[`k${i}`] = 1;
  return value;
}

describe('realtimeValidationPipe', () => {
  it('stores a payload as sent, keys named constructor, prototype or __proto__ included, whether or not the frame has unknown properties', async () => {
    const payload = JSON.parse('{"team":"Ferrari","constructor":"Scuderia","prototype":"SF-25","nested":{"constructor":"x","__proto__":{"a":1}}}') as object;
    const expected = JSON.parse(JSON.stringify(payload)) as object;
    const plain = await realtimeValidationPipe.transform(parsed({ room: 'f1', payload, clientMsgId: 'c1' }), body(SendMessageDto));
    const withExtra = await realtimeValidationPipe.transform(parsed({ room: 'f1', payload, clientMsgId: 'c2', clientTs: 1 }), body(SendMessageDto));
    expect(JSON.stringify((plain as SendMessageDto).payload)).toBe(JSON.stringify(expected));
    expect(JSON.stringify((withExtra as SendMessageDto).payload)).toBe(JSON.stringify(expected));
    expect(withExtra).toBeInstanceOf(SendMessageDto);
    expect(Object.entries(withExtra as object).filter(([, value]) => value !== undefined).map(([key]) => key).sort()).toEqual(['clientMsgId', 'payload', 'room']);
  });

  it('strips unknown properties, __proto__ among them, without touching the DTO prototype', async () => {
    const value = JSON.parse('{"room":"general","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}') as unknown;
    const dto = (await realtimeValidationPipe.transform(value, body(JoinRoomDto))) as JoinRoomDto & { polluted?: unknown };
    expect(dto).toBeInstanceOf(JoinRoomDto);
    expect(Object.getPrototypeOf(dto)).toBe(JoinRoomDto.prototype);
    expect(dto.polluted).toBeUndefined();
    expect(Object.hasOwn(dto, '__proto__') || Object.hasOwn(dto, 'constructor')).toBe(false);
    expect(dto.room).toBe('general');
  });

  // A frame of 64 KB holds some 8,000 properties; class-transformer copies each of them, in time growing with
  // their square (about 80 ms a frame at 8,000), which a socket within its rate limit could ask for 50 times a second.
  it('strips unknown properties without copying them, from a valid frame or a refused one: each is read once, by the depth check', async () => {
    let reads = 0;
    const withUnknownGetters = (base: Record<string, unknown>) => {
      const value = { ...base };
      for (let i = 0; i < 1000; i++) Object.defineProperty(value, `k${i}`, { enumerable: true, get: () => ++reads });
      return value;
    };
    await expect(realtimeValidationPipe.transform(withUnknownGetters({ room: 'general' }), body(JoinRoomDto))).resolves.toBeInstanceOf(JoinRoomDto);
    await expect(realtimeValidationPipe.transform(withUnknownGetters({ room: 'bad room' }), body(JoinRoomDto))).rejects.toBeInstanceOf(RealtimeError);
    expect(reads).toBe(2 * 1000);
  });

  it('keeps the payload of a frame with unknown properties as it came, rather than copying it', async () => {
    const payload = manyUnknownProperties(1000, {});
    const dto = (await realtimeValidationPipe.transform({ room: 'general', clientMsgId: 'c', payload, clientTs: 1 }, body(SendMessageDto))) as SendMessageDto;
    expect(dto.payload).toBe(payload);
  });

  it('still words every failed constraint when the frame also has unknown properties', async () => {
    const refused = realtimeValidationPipe.transform(parsed({ room: 'bad room', since: '1', extra: 1 }), body(JoinRoomDto));
    await expect(refused).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      details: expect.arrayContaining([
        expect.objectContaining({ field: 'room', constraint: 'roomName' }),
        expect.objectContaining({ field: 'since', constraint: 'isInt' }),
      ]),
    });
  });

  // The body DTOs (query DTOs convert text with class-transformer: they keep the base pipe).
  const dtos = ([...Object.values(adminDtos), ...Object.values(messageDtos), TokenDto, RoomDto, JoinRoomDto] as unknown[]).filter(
    (dto): dto is Function => typeof dto === 'function' && !dto.name.endsWith('QueryDto'),
  );
  const VALUES: unknown[] = ['general', '', 'bad name!', 'x\u0000y', '\uD800', 'viewer', 'room.*', 0, 1, -1, 1.5, 2 ** 53, true, null, {}, { a: 1 }, [], ['a'], [1]];
  /** The base ValidationPipe's transform, with class-transformer, on the configured instance. */
  const basePipe = (value: unknown, metadata: ArgumentMetadata) => ValidationPipe.prototype.transform.call(realtimeValidationPipe, value, metadata);
  const outcome = (result: Promise<unknown>) =>
    result.then(
      (dto) => ({ accepted: JSON.parse(JSON.stringify(dto)) as unknown }),
      (error: RealtimeError) => ({ code: error.code, message: error.message, details: error.details }),
    );

  it.each(dtos.map((dto) => [dto.name, dto] as const))('accepts and refuses as the base pipe does, in the same words: %s', async (_, dto) => {
    let state = dto.name.length * 104729;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const properties = [...new Set(['room', 'text', 'payload', 'clientMsgId', 'seq', 'since', 'name', 'permissions', 'scope', 'token', 'title', 'archived', 'description'])];
    for (let i = 0; i < 500; i++) {
      const input: Record<string, unknown> = {};
      for (const property of properties) if (next() < 0.4) input[property] = VALUES[Math.floor(next() * VALUES.length)];
      if (next() < 0.3) input.extra = 1;
      const json = JSON.stringify(input);
      expect([json, await outcome(realtimeValidationPipe.transform(JSON.parse(json), body(dto)))]).toEqual([json, await outcome(basePipe(JSON.parse(json), body(dto)))]);
    }
  });
});
