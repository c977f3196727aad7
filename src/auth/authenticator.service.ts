import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { RealtimeError } from '../protocol/error-codes.js';
import { SYSTEM_SENDER } from '../protocol/wire.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import type { AuthenticatedUser, TokenClaims } from './authenticated-user.js';
import { UserResolver } from './user-resolver.js';

const MAX_CLAIM_LENGTH = 255;

/** Verifies access tokens and turns them into users; the one place tokens are checked. */
@Injectable()
export class Authenticator {
  private readonly jwt = new JwtService();

  constructor(
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly userResolver: UserResolver,
  ) {}

  /** Throws UNAUTHORIZED, with a reason fit for the client, for any unusable token. */
  async authenticate(token: string | undefined): Promise<AuthenticatedUser> {
    const claims = this.verify(token);
    const user = await this.userResolver.resolve(claims);
    if (!user) throw RealtimeError.unauthorized('the token was refused');
    return user;
  }

  private verify(token: string | undefined): TokenClaims {
    if (!token) throw RealtimeError.unauthorized('an access token is required');
    const { auth } = this.options;
    let claims: Record<string, unknown>;
    try {
      claims = this.jwt.verify(token, {
        secret: auth.secret,
        publicKey: auth.publicKey,
        algorithms: [auth.algorithm],
        issuer: auth.issuer,
        audience: auth.audience,
        clockTolerance: auth.clockToleranceSeconds,
      });
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TokenExpiredError') throw RealtimeError.unauthorized('the token has expired');
      if (name === 'NotBeforeError') throw RealtimeError.unauthorized('the token is not valid yet');
      // jsonwebtoken says what failed ("invalid signature", "jwt issuer invalid"); what it expected stays here.
      const reason = (error as Error).message.split('. expected')[0];
      throw RealtimeError.unauthorized(`the token is invalid: ${reason}`);
    }
    if (typeof claims.exp !== 'number') throw RealtimeError.unauthorized('the token has no exp claim');
    if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > MAX_CLAIM_LENGTH) {
      throw RealtimeError.unauthorized('the token has no usable sub claim');
    }
    if (claims.sub === SYSTEM_SENDER.id) throw RealtimeError.unauthorized(`the user id ${SYSTEM_SENDER.id} is reserved for server-side publishes`);
    for (const optional of ['name', 'tid'] as const) {
      const value = claims[optional];
      if (value !== undefined && (typeof value !== 'string' || value.length > MAX_CLAIM_LENGTH)) {
        throw RealtimeError.unauthorized(`the token's ${optional} claim must be a string of at most ${MAX_CLAIM_LENGTH} characters`);
      }
    }
    return claims as TokenClaims;
  }
}
