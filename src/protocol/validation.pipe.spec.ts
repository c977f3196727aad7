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

  // A frame of 64 KB holds some 8,000 properties; class-transformer's work grows with their square
  // (about 80 ms a frame at 8,000), which a socket within its rate limit could spend 50 times a second.
  it('takes time in proportion to the properties of a frame, valid or not, at the top level or in its payload', async () => {
    const inputs: Array<[unknown, Function]> = [
      [manyUnknownProperties(60_000, { room: 'general' }), JoinRoomDto],
      [manyUnknownProperties(60_000, { room: 'bad room' }), JoinRoomDto],
      [{ room: 'general', clientMsgId: 'c', payload: manyUnknownProperties(60_000, {}) }, SendMessageDto],
    ];
    for (const [value, metatype] of inputs) {
      const started = performance.now();
      await realtimeValidationPipe.transform(value, body(metatype)).catch((error: unknown) => {
        if (!(error instanceof RealtimeError)) throw error;
      });
      expect(performance.now() - started).toBeLessThan(500);
    }
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
