import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
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

/**
 * Validation for every frame's `data` and every REST body and query: no type
 * coercion (a string where a number belongs is refused), unknown properties
 * stripped, each failed constraint listed in the error's details, and input
 * nested too deeply refused before class-transformer recurses into it. A
 * valid input usually takes the quick path (quick-acceptance.ts).
 */
class RealtimeValidationPipe extends ValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata) {
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
