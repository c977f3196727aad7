import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { RealtimeError } from '../protocol/error-codes.js';
import { MAX_CLAIM_LENGTH } from '../protocol/limits.js';
import { CONTROL_CHARACTER, LONE_SURROGATE } from '../protocol/validators.js';
import { SYSTEM_SENDER } from '../protocol/wire.js';
import { SHARED_ROLE_TENANT } from '../authorization/role.entity.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import type { AuthenticatedUser, TokenClaims } from './authenticated-user.js';
import { UserResolver } from './user-resolver.js';

/** Verifies access tokens and turns them into users; the one place tokens are checked. */
@Injectable()
export class Authenticator {
  private readonly logger = new Logger('RealtimeAuth');
  private readonly jwt = new JwtService();
  /**
   * The key, parsed once: given a string, jsonwebtoken parses it on every
   * verification, first trying it as a public key and failing (an exception
   * per handshake), which was the costliest step of a connect storm.
   */
  private readonly key: KeyObject;

  constructor(
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly userResolver: UserResolver,
  ) {
    const { secret, publicKey } = options.auth;
    this.key = publicKey ? createPublicKey(publicKey) : createSecretKey(Buffer.from(secret ?? ''));
  }

  /**
   * Throws UNAUTHORIZED, with a reason fit for the client, for any unusable
   * token, and UNAVAILABLE when the user resolver fails.
   */
  async authenticate(token: string | undefined): Promise<AuthenticatedUser> {
    const claims = this.verify(token);
    let user: AuthenticatedUser | null;
    try {
      user = await this.userResolver.resolve(claims);
    } catch (error) {
      if (error instanceof RealtimeError) throw error;
      this.logger.error(`the user resolver failed: ${(error as Error).message}`);
      throw RealtimeError.unavailable('users cannot be looked up right now');
    }
    if (!user) throw RealtimeError.unauthorized('the token was refused');
    assertUsable('user id', user.id, 1);
    assertUsable('name', user.name, 1);
    assertUsable('tenant', user.tenantId, 0);
    if (user.id === SYSTEM_SENDER.id) throw RealtimeError.unauthorized(`the user id ${SYSTEM_SENDER.id} is reserved for server-side publishes`);
    if (user.tenantId === SHARED_ROLE_TENANT) throw RealtimeError.unauthorized(`the tenant ${SHARED_ROLE_TENANT} is reserved`);
    return user;
  }

  private verify(token: string | undefined): TokenClaims {
    if (!token) throw RealtimeError.unauthorized('an access token is required');
    const { auth } = this.options;
    let claims: Record<string, unknown>;
    try {
      claims = this.jwt.verify(token, {
        // @nestjs/jwt hands `secret` to jsonwebtoken as it is, and jsonwebtoken takes a KeyObject of either kind.
        secret: this.key as unknown as string,
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
    // jsonwebtoken takes any number, and JSON's 1e400 is Infinity: a token that never expires, and a refresh answered `exp: null`.
    if (typeof claims.exp !== 'number') throw RealtimeError.unauthorized('the token has no exp claim');
    if (!Number.isFinite(claims.exp)) throw RealtimeError.unauthorized('the token has no usable exp claim');
    if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > MAX_CLAIM_LENGTH) {
      throw RealtimeError.unauthorized('the token has no usable sub claim');
    }
    for (const optional of ['name', 'tid'] as const) {
      const value = claims[optional];
      if (value !== undefined && (typeof value !== 'string' || value.length > MAX_CLAIM_LENGTH)) {
        throw RealtimeError.unauthorized(`the token's ${optional} claim must be a string of at most ${MAX_CLAIM_LENGTH} characters`);
      }
    }
    return claims as TokenClaims;
  }
}

/**
 * Ids end up in keys, logs and text columns: no control characters (C0 with
 * NUL, DEL, and C1, whose U+009B a terminal reads as CSI), and well-formed Unicode: a lone surrogate is stored as U+FFFD,
 * so "a\uD800" could not edit its own messages and "a\uFFFD..." could.
 */
function assertUsable(what: string, value: unknown, minLength: number): void {
  if (typeof value !== 'string' || value.length < minLength || value.length > MAX_CLAIM_LENGTH || CONTROL_CHARACTER.test(value)) {
    throw RealtimeError.unauthorized(`the token's ${what} must be ${minLength ? '1' : '0'} to ${MAX_CLAIM_LENGTH} characters without control characters`);
  }
  if (LONE_SURROGATE.test(value)) throw RealtimeError.unauthorized(`the token's ${what} must be well-formed Unicode (it has a lone surrogate)`);
}
