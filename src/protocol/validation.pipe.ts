import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { getMetadataStorage, validate } from 'class-validator';
import { RealtimeError, type ErrorDetail } from './error-codes.js';
import { MAX_NESTING_DEPTH } from './limits.js';
import { quickAcceptanceFor } from './quick-acceptance.js';
import { isPlainObject, nestsDeeperThan } from './validators.js';

/** Constraints on a value's type: when one fails, the others (range, length) say nothing true about the value. */
const TYPE_CONSTRAINTS = new Set(['isInt', 'isString', 'isBoolean', 'isArray', 'isObject', 'isNumber']);

function flatten(errors: ValidationError[], prefix = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    const field = prefix + error.property;
    let failed = Object.entries(error.constraints ?? {});
    if (failed.some(([constraint]) => TYPE_CONSTRAINTS.has(constraint))) failed = failed.filter(([constraint]) => TYPE_CONSTRAINTS.has(constraint));
    const own = failed.map(([constraint, message]) => ({ field, constraint, message }));
    return [...own, ...flatten(error.children ?? [], `${field}.`)];
  });
}

/** The property of `value` that nests too deeply, for the error's `field`. */
function tooDeepField(value: unknown, fallback: string): string {
  if (!isPlainObject(value)) return fallback;
  const deep = Object.entries(value).find(([, child]) => nestsDeeperThan(child, MAX_NESTING_DEPTH - 1));
  return deep ? deep[0] : fallback;
}

type DtoClass = new () => object;

const BODY_NOT_AN_OBJECT = 'the body must be a JSON object';

/**
 * A body that is there must be an object. The JSON parser also takes an
 * array, which the pipe would validate as an object without any of the
 * DTO's fields: "clientMsgId is missing" for a body that is not even an object.
 */
function assertObjectBody(value: unknown): void {
  if (value === undefined || isPlainObject(value)) return;
  throw RealtimeError.badRequest(BODY_NOT_AN_OBJECT, [{ field: 'body', constraint: 'isObject', message: BODY_NOT_AN_OBJECT }]);
}

const propertiesByClass = new Map<Function, ReadonlySet<string>>();

/** The properties a DTO (or a query DTO's parameters) validates: those the whitelist keeps. */
function propertiesOf(dtoClass: Function): ReadonlySet<string> {
  let properties = propertiesByClass.get(dtoClass);
  if (!properties) {
    properties = new Set(getMetadataStorage().getTargetValidationMetadatas(dtoClass, '', false, false).map((rule) => rule.propertyName));
    propertiesByClass.set(dtoClass, properties);
  }
  return properties;
}

/**
 * `value` with only the properties the whitelist would keep, found in one
 * pass: class-transformer's time grows with the square of an object's
 * properties (it deduplicates their names with indexOf), some 80 ms for the
 * 8,000 a 64 KB frame holds, which one socket within its rate could ask
 * for 50 times a second.
 */
function withOnlyProperties(value: Record<string, unknown>, properties: ReadonlySet<string>): Record<string, unknown> {
  if (Object.keys(value).every((key) => properties.has(key))) return value;
  const kept: Record<string, unknown> = {};
  for (const property of properties) if (Object.hasOwn(value, property)) kept[property] = value[property];
  return kept;
}

/**
 * Each parameter of the query is one value. Express keeps `after[]=1` and
 * `after[x]=1` under those very keys, which the whitelist would strip without
 * a word (a history page from the newest message rather than after 1); an
 * extended query parser makes them an array or an object, and `after=1&after=2`
 * is an array too. A host's global ValidationPipe with `transform: true` runs
 * first: it hands over an instance of the DTO, with a parameter the request
 * left out as undefined and a number already converted from its one string.
 */
function assertSingleValues(query: unknown, queryClass: Function): void {
  if (query === null || typeof query !== 'object') return;
  const parameters = propertiesOf(queryClass);
  for (const [key, value] of Object.entries(query)) {
    const bracket = key.indexOf('[');
    const name = bracket > 0 ? key.slice(0, bracket) : key;
    if (!parameters.has(name) || (bracket < 0 && isSingleValue(value))) continue;
    const message = `${name} must be given once, as a single value`;
    throw RealtimeError.badRequest(message, [{ field: name, constraint: 'singleValue', message }]);
  }
}

function isSingleValue(value: unknown): boolean {
  return value === undefined || typeof value === 'string' || typeof value === 'number';
}

/**
 * Validation for every frame's `data` and every REST body and query: no type
 * coercion (a string where a number belongs is refused), a body that is not
 * an object and a query parameter given as a list refused, unknown
 * properties stripped, each failed constraint listed in the error's details,
 * and input nested too deeply refused before class-transformer recurses into
 * it. A valid input usually takes the quick path (quick-acceptance.ts).
 */
class RealtimeValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata) {
    if (metadata.type === 'body' && metadata.data === undefined) assertObjectBody(value);
    if (metadata.type === 'query' && metadata.metatype) assertSingleValues(value, metadata.metatype);
    if (nestsDeeperThan(value, MAX_NESTING_DEPTH)) {
      const message = `objects and arrays may be nested at most ${MAX_NESTING_DEPTH} deep`;
      throw RealtimeError.badRequest(message, [{ field: tooDeepField(value, metadata.data ?? metadata.type), constraint: 'nesting', message }]);
    }
    // The common case first, a valid frame: custom parameter decorators are not validated (validateCustomDecorators is off).
    const metatype = metadata.metatype;
    const quick = metatype && metadata.type !== 'custom' ? quickAcceptanceFor(metatype) : null;
    const accepted = quick?.(value);
    if (accepted) return Promise.resolve(accepted);
    // toValidate: a DTO class (not String, Object...), and not a custom parameter decorator.
    if (!metatype || !this.toValidate(metadata) || !isPlainObject(value)) return super.transform(value, metadata);
    const input = withOnlyProperties(value, propertiesOf(metatype));
    if (!quick) return super.transform(input, metadata);
    // Declined with properties to strip, it may pass without them.
    return Promise.resolve((input !== value && quick(input)) || this.validateAsBuilt(metatype as DtoClass, input));
  }

  /**
   * A DTO the quick path declined, built as it builds them (its declared
   * properties, the values as they came), for class-validator to word the
   * errors: class-transformer would rebuild a payload of thousands of keys in
   * quadratic time, and the base pipe would delete any key named
   * `constructor`, `prototype` or `__proto__` inside it (data, not a danger
   * once the payload is never merged into an object).
   */
  private async validateAsBuilt(metatype: DtoClass, input: Record<string, unknown>): Promise<object> {
    const dto = Object.assign(new metatype(), input);
    const errors = await validate(dto, this.validatorOptions);
    if (errors.length > 0) throw await this.exceptionFactory(errors);
    return dto;
  }

  /** Route and query parameters stay as they came: `/messages/01` is not seq 1 (their pipes check them). */
  protected override transformPrimitive(value: unknown): unknown {
    return value;
  }
}

export const realtimeValidationPipe = new RealtimeValidationPipe({
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  whitelist: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => {
    const details = flatten(errors);
    const message = details.length > 0 ? details.map((d) => d.message).join('; ') : 'invalid input';
    return RealtimeError.badRequest(message, details);
  },
});
