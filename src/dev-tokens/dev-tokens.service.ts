import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { RealtimeError } from '../protocol/error-codes.js';
import type { AuthOptions } from '../realtime-options.js';
import type { DevTokenDto } from './dto/dev-token.dto.js';
import { signDevToken } from './sign-dev-token.js';

export const DEV_TOKENS_AUTH = Symbol('devTokens.auth');
/** Names signed in by no one through the route: the bootstrap admins (anyone who reached the server would be one). */
export const DEV_TOKENS_REFUSED = Symbol('devTokens.refused');

/** Short-lived: the chat page asks again (through the client SDK's `getToken`) before it runs out. */
export const DEV_TOKEN_TTL_SECONDS = 15 * 60;

/** Tokens for whoever asks, signed with the server's own secret; mounted only when DEV_TOKENS is on. */
@Injectable()
export class DevTokensService {
  private readonly jwt = new JwtService();

  constructor(
    @Inject(DEV_TOKENS_AUTH) private readonly auth: AuthOptions,
    @Inject(DEV_TOKENS_REFUSED) private readonly refused: ReadonlySet<string>,
  ) {}

  mint(name: string): DevTokenDto {
    if (this.refused.has(name)) {
      throw RealtimeError.forbidden(`${name} is a bootstrap admin (BOOTSTRAP_ADMINS): sign in by name as another user; mint ${name}'s token with npm run token`);
    }
    const token = signDevToken(this.auth, name, { name, ttlSeconds: DEV_TOKEN_TTL_SECONDS });
    return { token, exp: this.jwt.decode<{ exp: number }>(token).exp };
  }
}
