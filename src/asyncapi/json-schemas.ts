import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';
import { IS_ISO8601, ValidationTypes } from 'class-validator';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import type { ISchemaConverters } from 'class-validator-jsonschema/build/defaultConverters.js';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata.js';
import { VALIDATOR_SCHEMAS } from '../protocol/validators.js';

export type SchemaObject = ReturnType<typeof targetConstructorToSchema>;
export type SchemaClass = abstract new (...args: any[]) => object;

export const SCHEMA_REF_PREFIX = '#/components/schemas/';

export function schemaRef(type: SchemaClass): { $ref: string } {
  return { $ref: `${SCHEMA_REF_PREFIX}${type.name}` };
}

/** The class of a `@ValidateNested` property: its `@Type`, else its declared type. */
function nestedClass(meta: ValidationMetadata): SchemaClass {
  const target = meta.target as SchemaClass;
  const declared = defaultMetadataStorage.findTypeMetadata(target, meta.propertyName)?.typeFunction();
  return (declared ?? Reflect.getMetadata('design:type', target.prototype, meta.propertyName)) as SchemaClass;
}

/**
 * The JSON Schemas of `roots` and of every class they nest, by class name, read
 * from the class-validator decorators the server validates with: the DTOs of the
 * requests and the decorated shapes of `protocol/wire.ts`.
 */
export function schemasOf(roots: Iterable<SchemaClass>): Record<string, SchemaObject> {
  const pending = [...roots];
  const converted = new Map<string, SchemaClass>();
  const schemas: Record<string, SchemaObject> = {};
  const additionalConverters: ISchemaConverters = {
    ...VALIDATOR_SCHEMAS,
    // The protocol's times are full timestamps (`Date.toISOString()`), never bare dates.
    [IS_ISO8601]: { type: 'string', format: 'date-time' },
    [ValidationTypes.NESTED_VALIDATION]: (meta) => {
      const type = nestedClass(meta);
      pending.push(type);
      return schemaRef(type);
    },
  };
  const options = {
    additionalConverters,
    refPointerPrefix: SCHEMA_REF_PREFIX,
    classTransformerMetadataStorage: defaultMetadataStorage,
  };
  for (let type = pending.pop(); type; type = pending.pop()) {
    const known = converted.get(type.name);
    if (known === type) continue;
    // Schemas are named by class: two protocol classes of one name would overwrite each other.
    if (known) throw new Error(`two classes named ${type.name} describe the protocol`);
    converted.set(type.name, type);
    schemas[type.name] = targetConstructorToSchema(type, options);
  }
  return schemas;
}
