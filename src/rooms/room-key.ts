/**
 * A room is named within its tenant: the same name in two tenants is two rooms.
 * The key joins both; room names are ASCII without NUL, so it splits unambiguously.
 */
export function roomKey(tenantId: string, name: string): string {
  return `${name}\u0000${tenantId}`;
}
