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
