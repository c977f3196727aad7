import { registerDecorator, type ValidationOptions } from 'class-validator';
import { RealtimeError } from './error-codes.js';
import { PAYLOAD_MAX_BYTES, ROOM_NAME_PATTERN } from './limits.js';

/** A string whose length, counted in Unicode code points, lies in [min, max]. */
export function IsCodePointLength(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'codePointLength',
      target: target.constructor,
      propertyName: propertyKey as string,
      constraints: [min, max],
      options: { message: `$property must be a string of ${min} to ${max} characters`, ...options },
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'string') return false;
          // Fast path: a UTF-16 length within range of the code point bounds decides it.
          if (value.length < min || value.length > 2 * max) return false;
          let count = 0;
          for (const _ of value) count++;
          return count >= min && count <= max;
        },
      },
    });
}

export const ROOM_NAME_RULE = 'room must be 1 to 128 characters of letters, digits, "-", "_", "." or ":"';

export function isRoomName(value: unknown): value is string {
  return typeof value === 'string' && ROOM_NAME_PATTERN.test(value);
}

/** For room names that arrive outside a DTO (route parameters, the publisher). */
export function assertRoomName(value: unknown): asserts value is string {
  if (!isRoomName(value)) {
    throw RealtimeError.badRequest(ROOM_NAME_RULE, [{ field: 'room', constraint: 'roomName', message: ROOM_NAME_RULE }]);
  }
}

export function IsRoomName(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'roomName',
      target: target.constructor,
      propertyName: propertyKey as string,
      options: { message: ROOM_NAME_RULE.replace(/^room/, '$property'), ...options },
      validator: { validate: isRoomName },
    });
}

/** A JSON object (not an array) whose serialised form fits in the payload limit. */
export function IsPayload(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'payload',
      target: target.constructor,
      propertyName: propertyKey as string,
      options: { message: `$property must be a JSON object of at most ${PAYLOAD_MAX_BYTES} bytes`, ...options },
      validator: {
        validate(value: unknown) {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
          return Buffer.byteLength(JSON.stringify(value)) <= PAYLOAD_MAX_BYTES;
        },
      },
    });
}
