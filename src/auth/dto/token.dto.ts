import { IsString, Length } from 'class-validator';

/** `auth` and `auth.refresh`. */
export class TokenDto {
  @IsString()
  @Length(1, 16_384)
  token!: string;
}
