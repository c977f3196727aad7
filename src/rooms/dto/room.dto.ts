import { IsInt, Max, Min } from 'class-validator';
import { IsRoomName, Optional } from '../../protocol/validators.js';

/** `room.leave`, `presence.list`, `typing`: just a room. */
export class RoomDto {
  @IsRoomName()
  room!: string;
}

export class JoinRoomDto extends RoomDto {
  /** Replay every stored message after this `seq` before live ones. */
  @Optional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  since?: number;
}
