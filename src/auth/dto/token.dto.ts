import { IsString, Length } from 'class-validator';
import type { TokenRequest } from '../../protocol/event-map.js';

/** `auth` and `auth.refresh`. */
export class TokenDto implements TokenRequest {
  @IsString()
  @Length(1, 16_384)
  token!: string;
}
