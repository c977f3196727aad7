import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { IsRoomName, IsText, Optional, QueryInteger, USER_ID_PATTERN, USER_ID_RULE } from '../../protocol/validators.js';

export const ROLE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class CreateRoleDto {
  @ApiProperty({ example: 'support-agent', pattern: ROLE_NAME_PATTERN.source })
  @Matches(ROLE_NAME_PATTERN, { message: 'name must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit' })
  name!: string;

  @ApiPropertyOptional({ maxLength: 500 })
  @Optional()
  @IsText(0, 500)
  description?: string;

  @ApiProperty({ type: [String], example: ['room.join', 'message.send', 'history.read'] })
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  permissions!: string[];
}

export class UpdateRoleDto {
  @ApiPropertyOptional({ description: "The role's own name, if given at all: a role is not renamed (create the new one, move the assignments, delete the old one)" })
  @Optional()
  @IsString()
  name?: string;

  @ApiPropertyOptional({ maxLength: 500 })
  @Optional()
  @IsText(0, 500)
  description?: string;

  @ApiPropertyOptional({ type: [String] })
  @Optional()
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  permissions?: string[];
}

export class AssignmentScopeDto {
  @ApiPropertyOptional({ description: '`*` (default), a room name, or a prefix such as `support-*`', example: 'support-*' })
  @Optional()
  @IsString()
  @MaxLength(129)
  scope?: string;
}

export class CreateRoomDto {
  @ApiProperty({ example: 'general' })
  @IsRoomName()
  name!: string;

  @ApiPropertyOptional({ maxLength: 255 })
  @Optional()
  @IsText(1, 255)
  title?: string;
}

export class UpdateRoomDto {
  @ApiPropertyOptional({ maxLength: 255, nullable: true, description: 'null removes the title' })
  @ValidateIf((o: UpdateRoomDto) => o.title !== undefined && o.title !== null)
  @IsText(1, 255)
  title?: string | null;

  @ApiPropertyOptional({ description: 'true archives the room, false restores it' })
  @Optional()
  @IsBoolean()
  archived?: boolean;
}

export class ListRoomsQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 500, default: 100 })
  @Optional()
  @QueryInteger(1, 500)
  limit?: number;

  @ApiPropertyOptional({ description: 'Return rooms whose name sorts after this one' })
  @Optional()
  @IsRoomName()
  after?: string;

  @ApiPropertyOptional({ enum: ['true', 'false'], default: 'false' })
  @Optional()
  @IsIn(['true', 'false'])
  includeArchived?: 'true' | 'false';
}

export class AuditQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 500, default: 100 })
  @Optional()
  @QueryInteger(1, 500)
  limit?: number;

  @ApiPropertyOptional({ type: 'integer', description: 'Entries with an id below this one (paging backwards)', minimum: 1 })
  @Optional()
  // The id column's range on PostgreSQL (integer).
  @QueryInteger(1, 2_147_483_647)
  before?: number;

  @ApiPropertyOptional({ example: 'assignment.revoke' })
  @Optional()
  @Matches(/^[a-z][a-z.]{0,63}$/, { message: 'action must be an action name such as assignment.revoke' })
  action?: string;

  @ApiPropertyOptional({ description: 'Only changes by this user id' })
  @Optional()
  @Matches(USER_ID_PATTERN, { message: `actor must be ${USER_ID_RULE}` })
  actor?: string;
}
