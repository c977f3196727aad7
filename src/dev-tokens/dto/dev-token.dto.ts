import { ApiProperty } from '@nestjs/swagger';
import { Matches, NotEquals } from 'class-validator';
import { SYSTEM_SENDER } from '../../protocol/wire.js';

const DEV_USER_NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u;

export class DevTokenRequestDto {
  @ApiProperty({ example: 'alice', description: 'The user id and display name of the token' })
  @Matches(DEV_USER_NAME_PATTERN, {
    message: 'name must be 1 to 64 letters, digits, spaces, ".", "_" or "-", starting with a letter or digit',
  })
  @NotEquals(SYSTEM_SENDER.id, { message: `name "${SYSTEM_SENDER.id}" is reserved for server-side publishes` })
  name!: string;
}

export class DevTokenDto {
  @ApiProperty({ description: 'An access token for the WebSocket and the HTTP routes' })
  token!: string;

  @ApiProperty({ description: 'When it expires, in seconds since the epoch (the `exp` claim)' })
  exp!: number;
}
