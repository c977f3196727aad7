import { TransformationType } from 'class-transformer';
import { defaultMetadataStorage as transformerMetadata } from 'class-transformer/cjs/storage.js';
import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';
import { isPlainObject } from './validators.js';

/**
 * Builds the DTO instance for `value` when it certainly passes validation, or
 * returns undefined when the full pipe (class-transformer, class-validator,
 * whitelist, error details) must decide.
 */
export type QuickAcceptance = (value: unknown) => object | undefined;

type DtoClass = new () => object;

interface PropertyRules {
  /** `@ValidateIf` conditions: all must hold for the property to be validated at all. */
  conditions: Array<(object: object, value: unknown) => boolean>;
  checks: Array<{
    validateIf?: (object: object, value: unknown) => boolean;
    constraints: unknown[];
    validate(value: unknown, args: ValidationArguments): unknown;
  }>;
}

const compiled = new Map<Function, QuickAcceptance | null>();

/**
 * The common case of a frame, a valid one, in a fraction of the pipe's time
 * (class-transformer and class-validator were a tenth of the CPU of a send):
 * the DTO's own class-validator metadata and constraint classes, run as
 * class-validator runs them with the pipe's options, on a DTO built from the
 * plain value as class-transformer builds it when no transformer decorator
 * is involved. Anything else (an unknown or stripped property, a failed
 * constraint, nested or async validation, a transformer decorator) goes to
 * the full pipe, which words the errors. Null: the class has no quick path.
 */
export function quickAcceptanceFor(metatype: Function): QuickAcceptance | null {
  let acceptance = compiled.get(metatype);
  if (acceptance === undefined) {
    acceptance = compile(metatype as DtoClass);
    compiled.set(metatype, acceptance);
  }
  return acceptance;
}

function compile(metatype: DtoClass): QuickAcceptance | null {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(metatype, '', false, false);
  if (metadatas.length === 0) return null;
  const properties = new Map<string, PropertyRules>();
  for (const [property, own] of Object.entries(storage.groupByPropertyName(metadatas))) {
    if (usesTransformer(metatype, property)) return null;
    const rules: PropertyRules = { conditions: [], checks: [] };
    for (const metadata of own) {
      if (metadata.each) return null;
      switch (metadata.type) {
        case ValidationTypes.CONDITIONAL_VALIDATION:
          rules.conditions.push(metadata.constraints[0] as PropertyRules['conditions'][number]);
          break;
        case ValidationTypes.IS_DEFINED:
        case ValidationTypes.CUSTOM_VALIDATION:
          for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
            if (constraint.async) return null;
            const instance = constraint.instance as { validate(value: unknown, args: ValidationArguments): unknown };
            rules.checks.push({
              validateIf: metadata.validateIf,
              constraints: metadata.constraints,
              validate: (value, args) => instance.validate(value, args),
            });
          }
          break;
        case ValidationTypes.WHITELIST:
          break;
        default:
          // Nested and promise validation: the full pipe.
          return null;
      }
    }
    // class-validator runs IS_DEFINED checks before the others; the order only matters for errors, which go to the pipe.
    properties.set(property, rules);
  }
  if (transformerMetadata.getExposedMetadatas(metatype).length > 0 || transformerMetadata.getExcludedMetadatas(metatype).length > 0) return null;

  const targetName = metatype.name;
  return (value) => {
    if (!isPlainObject(value)) return undefined;
    // A property the whitelist would strip (`__proto__` and `constructor` among them): the pipe strips it.
    for (const key of Object.keys(value)) if (!properties.has(key)) return undefined;
    const object = Object.assign(new metatype(), value) as Record<string, unknown>;
    for (const [property, rules] of properties) {
      const propertyValue = object[property];
      if (!rules.conditions.every((condition) => condition(object, propertyValue))) continue;
      for (const check of rules.checks) {
        if (check.validateIf && !check.validateIf(object, propertyValue)) continue;
        const passed = check.validate(propertyValue, { targetName, property, object, value: propertyValue, constraints: check.constraints });
        if (!passed || typeof (passed as { then?: unknown }).then === 'function') return undefined;
      }
    }
    return object;
  };
}

function usesTransformer(metatype: DtoClass, property: string): boolean {
  return (
    transformerMetadata.findTypeMetadata(metatype, property) !== undefined ||
    transformerMetadata.findExposeMetadata(metatype, property) !== undefined ||
    transformerMetadata.findExcludeMetadata(metatype, property) !== undefined ||
    transformerMetadata.findTransformMetadatas(metatype, property, TransformationType.PLAIN_TO_CLASS).length > 0
  );
}
