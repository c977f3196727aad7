import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser, TokenClaims } from './authenticated-user.js';

/**
 * Turns a verified token into a user. Hosts replace it (the `userResolver`
 * option) to consult their own user directory; returning null refuses the
 * token as if it were invalid.
 */
export abstract class UserResolver {
  abstract resolve(claims: TokenClaims): Promise<AuthenticatedUser | null> | AuthenticatedUser | null;
}

@Injectable()
export class ClaimsUserResolver extends UserResolver {
  resolve(claims: TokenClaims): AuthenticatedUser {
    return {
      id: claims.sub,
      name: typeof claims.name === 'string' && claims.name.length > 0 ? claims.name : claims.sub,
      tenantId: claims.tid ?? '',
      expiresAt: claims.exp,
    };
  }
}
