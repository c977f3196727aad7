import { Transform } from 'class-transformer';
import { registerDecorator, ValidateIf, type ValidationOptions } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import type { ISchemaConverters } from 'class-validator-jsonschema/build/defaultConverters.js';
import { RealtimeError } from './error-codes.js';
import { MAX_CLAIM_LENGTH, PAYLOAD_MAX_BYTES, ROOM_NAME_MAX_LENGTH, ROOM_NAME_PATTERN } from './limits.js';

/**
 * UTF-8 bytes of a string, without Node's Buffer: this file is also compiled
 * for browsers (the client SDK's types come from here). JSON.stringify leaves
 * no lone surrogates, so a surrogate pair is four bytes.
 */
function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * May be absent, but not null: `@IsOptional()` would let null through, and
 * the contract coerces nothing.
 */
export function Optional(): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined);
}

/** A JSON object: not null, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A surrogate without its pair: not well-formed Unicode, stored as U+FFFD in UTF-8 columns. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** C0 controls (NUL included), DEL and C1 (U+009B is CSI to a terminal showing the logs): refused in user ids. */
const CONTROL_CHARACTERS = '\\u0000-\\u001f\\u007f-\\u009f';
export const CONTROL_CHARACTER = new RegExp(`[${CONTROL_CHARACTERS}]`);
/** A user id as a token's `sub` carries it, and as the admin API takes one. */
export const USER_ID_PATTERN = new RegExp(`^[^${CONTROL_CHARACTERS}]{1,${MAX_CLAIM_LENGTH}}$`);
export const USER_ID_RULE = `1 to ${MAX_CLAIM_LENGTH} characters without control characters`;

/**
 * A string of `min` to `max` Unicode code points: well-formed (no lone
 * surrogates, which would not survive storage as UTF-8) and without NUL
 * (which PostgreSQL cannot store in text).
 */
export function IsText(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'text',
      target: target.constructor,
      propertyName: propertyKey as string,
      constraints: [min, max],
      options: {
        // A lone surrogate passes for a character in most editors: say what is wrong with the string.
        message: ({ property, value }) =>
          typeof value === 'string' && LONE_SURROGATE.test(value)
            ? `${property} must be well-formed Unicode: it has a lone surrogate (half of a UTF-16 pair)`
            : `${property} must be a string of ${min} to ${max} characters without NUL`,
        ...options,
      },
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'string' || value.includes('\u0000') || LONE_SURROGATE.test(value)) return false;
          // A UTF-16 length outside [min, 2 * max] decides it without counting.
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

/**
 * Whether `value` holds a number JSON cannot carry (NaN, Infinity: `1e400`
 * parses as Infinity), which JSON.stringify would write as null. Seen as
 * JSON.stringify sees it, after any `toJSON` of a host's object.
 */
function holdsNonFiniteNumber(value: unknown): boolean {
  let found = false;
  JSON.stringify(value, (_key, child: unknown) => {
    // A Number object (`Object(NaN)`) reaches the replacer as an object, and is written as its value.
    const number = child instanceof Number ? child.valueOf() : child;
    if (typeof number === 'number' && !Number.isFinite(number)) found = true;
    return found ? undefined : child;
  });
  return found;
}

/** A JSON object (not an array) whose serialised form fits in the payload limit (its depth is bounded by the validation pipe). */
export function IsPayload(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'payload',
      target: target.constructor,
      propertyName: propertyKey as string,
      options: {
        // Stored, such a number would come back as null: refused rather than changed.
        message: ({ property, value }) =>
          isPlainObject(value) && holdsNonFiniteNumber(value)
            ? `${property} must hold only finite numbers: NaN, Infinity or a number beyond a double (such as 1e400) would be stored as null`
            : `${property} must be a JSON object of at most ${PAYLOAD_MAX_BYTES} bytes`,
        ...options,
      },
      validator: {
        validate(value: unknown) {
          if (!isPlainObject(value)) return false;
          const json = JSON.stringify(value);
          // A non-finite number is written as null: only then is it worth looking for one.
          return utf8ByteLength(json) <= PAYLOAD_MAX_BYTES && !(json.includes('null') && holdsNonFiniteNumber(value));
        },
      },
    });
}

/**
 * On a class: it has `text`, `payload` or both. A rule over two fields, which only
 * the class's JSON Schema can state; the validation itself is `text`'s `ValidateIf`.
 */
export const HasContent = () => JSONSchema({ anyOf: [{ required: ['text'] }, { required: ['payload'] }] });

/** Whether JSON-like `value` nests objects or arrays deeper than `maxDepth`; iterative, so any depth is safe to ask about. */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxDepth) return true;
    for (const child of Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * The JSON Schema of each validator above, by its name, for class-validator-jsonschema
 * (the generated AsyncAPI document). JSON Schema lengths count code points, as `IsText` does.
 */
export const VALIDATOR_SCHEMAS: ISchemaConverters = {
  text: ({ constraints: [minLength, maxLength] }) => ({
    type: 'string',
    minLength,
    maxLength,
    pattern: '^[^\\u0000]*$',
    description: `${minLength} to ${maxLength} characters (code points) of well-formed Unicode, without NUL`,
  }),
  roomName: { type: 'string', minLength: 1, maxLength: ROOM_NAME_MAX_LENGTH, pattern: ROOM_NAME_PATTERN.source },
  payload: { type: 'object', description: `any JSON object of at most ${PAYLOAD_MAX_BYTES} bytes serialised` },
};

const DECIMAL_INTEGER = /^(0|[1-9][0-9]{0,15})$/;

/** Text that is a safe integer of at least 0 written in plain decimal (no sign, exponent, spaces or leading zeros), as a number. */
export function parseDecimalInteger(value: unknown): number | undefined {
  if (typeof value !== 'string' || !DECIMAL_INTEGER.test(value)) return undefined;
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/**
 * A query string parameter that holds an integer from `min` to `max`,
 * written in plain decimal. Anything else (`abc`, an empty value, `1e3`,
 * ` 7`, `07`, a repeated parameter) is refused, not coerced.
 */
export function QueryInteger(min: number, max: number): PropertyDecorator {
  return (target, propertyKey) => {
    Transform(({ value }: { value: unknown }) => parseDecimalInteger(value) ?? value)(target, propertyKey);
    registerDecorator({
      name: 'integer',
      target: target.constructor,
      propertyName: propertyKey as string,
      constraints: [min, max],
      options: { message: `$property must be an integer from ${min} to ${max}` },
      validator: { validate: (value: unknown) => Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max },
    });
  };
}
