import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AuthOptions } from '../realtime-options.js';
import type { DevTokenDto } from './dto/dev-token.dto.js';
import { signDevToken } from './sign-dev-token.js';

export const DEV_TOKENS_AUTH = Symbol('devTokens.auth');

/** Short-lived: the chat page asks again (through the client SDK's `getToken`) before it runs out. */
export const DEV_TOKEN_TTL_SECONDS = 15 * 60;

/** Tokens for whoever asks, signed with the server's own secret; mounted only when DEV_TOKENS is on. */
@Injectable()
export class DevTokensService {
  private readonly jwt = new JwtService();

  constructor(@Inject(DEV_TOKENS_AUTH) private readonly auth: AuthOptions) {}

  mint(name: string): DevTokenDto {
    const token = signDevToken(this.auth, name, { name, ttlSeconds: DEV_TOKEN_TTL_SECONDS });
    return { token, exp: this.jwt.decode<{ exp: number }>(token).exp };
  }
}
