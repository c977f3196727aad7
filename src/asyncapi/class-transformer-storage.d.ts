// class-transformer keeps its `@Type` metadata here and ships no declaration for the file
// (class-validator-jsonschema documents this import for nested arrays).
declare module 'class-transformer/cjs/storage.js' {
  import type { MetadataStorage } from 'class-transformer/types/MetadataStorage.js';
  export const defaultMetadataStorage: MetadataStorage;
}
