import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { RealtimeError, type ErrorDetail } from './error-codes.js';
import { MAX_NESTING_DEPTH } from './limits.js';
import { quickAcceptanceFor } from './quick-acceptance.js';
import { nestsDeeperThan } from './validators.js';

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
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fallback;
  const deep = Object.entries(value).find(([, child]) => nestsDeeperThan(child, MAX_NESTING_DEPTH - 1));
  return deep ? deep[0] : fallback;
}

const BODY_NOT_AN_OBJECT = 'the body must be a JSON object';

/**
 * A body that is there must be an object. The JSON parser also takes an
 * array, which the pipe would validate as an object without any of the
 * DTO's fields: "clientMsgId is missing" for a body that is not even an object.
 */
function assertObjectBody(value: unknown): void {
  if (value === undefined || (value !== null && typeof value === 'object' && !Array.isArray(value))) return;
  throw RealtimeError.badRequest(BODY_NOT_AN_OBJECT, [{ field: 'body', constraint: 'isObject', message: BODY_NOT_AN_OBJECT }]);
}

const parametersByQueryClass = new Map<Function, ReadonlySet<string>>();

/** The parameters a query DTO validates. */
function parametersOf(queryClass: Function): ReadonlySet<string> {
  let parameters = parametersByQueryClass.get(queryClass);
  if (!parameters) {
    parameters = new Set(getMetadataStorage().getTargetValidationMetadatas(queryClass, '', false, false).map((rule) => rule.propertyName));
    parametersByQueryClass.set(queryClass, parameters);
  }
  return parameters;
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
  const parameters = parametersOf(queryClass);
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
    // Custom parameter decorators are not validated by the pipe (validateCustomDecorators is off).
    const accepted = metadata.metatype && metadata.type !== 'custom' ? quickAcceptanceFor(metadata.metatype)?.(value) : undefined;
    return accepted ? Promise.resolve(accepted) : super.transform(value, metadata);
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
