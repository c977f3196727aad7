import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

export class DevTokenRequestDto {
  @ApiProperty({ description: 'Becomes the user id (`sub`) and display name', example: 'alice' })
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'name must be 1 to 64 letters, digits, ".", "_" or "-"' })
  name!: string;
}

export class DevTokenDto {
  @ApiProperty() token!: string;
  @ApiProperty({ description: 'Seconds since the epoch' }) exp!: number;
}
