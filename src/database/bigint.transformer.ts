import type { ValueTransformer } from 'typeorm';

/**
 * PostgreSQL returns `bigint` as a string; every counter and timestamp here
 * stays far below 2^53, so it is read back as a number on both databases.
 */
export const bigintTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? value : Number(value)),
};
