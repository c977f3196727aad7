import { Body, Controller, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { signDevToken } from '../auth/dev-tokens.js';
import { realtimeValidationPipe } from '../protocol/validation.pipe.js';
import type { AuthOptions } from '../realtime-options.js';
import { DevTokenDto, DevTokenRequestDto } from './dev-token.dto.js';

export const DEV_TOKEN_AUTH = Symbol('realtime.devTokenAuth');
/** Short, so that a token copied out of a development page is soon worthless; the page fetches new ones. */
const DEV_TOKEN_TTL_SECONDS = 15 * 60;

/** Sign-in for the chat page in development (DEV_TOKENS=true): a token for any name, no password. */
@ApiTags('development')
@Controller('dev')
export class DevTokenController {
  constructor(@Inject(DEV_TOKEN_AUTH) private readonly auth: AuthOptions) {}

  @Post('token')
  @ApiOperation({ summary: 'Mint a short-lived token for a name (only with DEV_TOKENS=true, never in production)' })
  token(@Body(realtimeValidationPipe) { name }: DevTokenRequestDto): DevTokenDto {
    return signDevToken(this.auth, name, { name, ttlSeconds: DEV_TOKEN_TTL_SECONDS });
  }
}
