import type { EntityManager, FindOneOptions } from 'typeorm';

/**
 * Find options that lock the rows read until the transaction ends, on
 * PostgreSQL (`share` lets other readers lock them too, `update` does not):
 * a concurrent change waits instead of acting on what it read before. SQLite
 * needs none: the module runs its transactions one at a time.
 */
export function rowLock(manager: EntityManager, mode: 'share' | 'update'): Pick<FindOneOptions, 'lock'> {
  if (manager.connection.options.type !== 'postgres') return {};
  return { lock: { mode: mode === 'share' ? 'pessimistic_read' : 'pessimistic_write' } };
}
