/** The claims of an access token the module reads. */
export interface TokenClaims {
  sub: string;
  name?: string;
  tid?: string;
  exp: number;
  [claim: string]: unknown;
}

/** Who is on the other end of a socket or REST call. */
export interface AuthenticatedUser {
  id: string;
  name: string;
  /** The `tid` claim, or '' for tokens without one. */
  tenantId: string;
  /** When the token expires, in seconds since the epoch. */
  expiresAt: number;
}

/** A collision-free key for a user within a tenant (ids may contain any character). */
export function userKey(tenantId: string, userId: string): string {
  return JSON.stringify([tenantId, userId]);
}

/** Every `userKey` of the tenant starts with this. */
export function tenantKeyPrefix(tenantId: string): string {
  return `${JSON.stringify([tenantId]).slice(0, -1)},`;
}
