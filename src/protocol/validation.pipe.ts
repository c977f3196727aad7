import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { RealtimeError, type ErrorDetail } from './error-codes.js';

function flatten(errors: ValidationError[], prefix = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    const field = prefix + error.property;
    const own = Object.entries(error.constraints ?? {}).map(([constraint, message]) => ({ field, constraint, message }));
    return [...own, ...flatten(error.children ?? [], `${field}.`)];
  });
}

/**
 * Validation for every frame's `data` and every REST body and query: no type
 * coercion (a string where a number belongs is refused), unknown properties
 * stripped, and each failed constraint listed in the error's details.
 */
export const realtimeValidationPipe = new ValidationPipe({
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
