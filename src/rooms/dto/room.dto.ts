import { IsInt, Max, Min } from 'class-validator';
import type { JoinRoomRequest, RoomRequest } from '../../protocol/event-map.js';
import { IsRoomName, Optional } from '../../protocol/validators.js';

/** `room.leave`, `presence.list`, `typing`: just a room. */
export class RoomDto implements RoomRequest {
  @IsRoomName()
  room!: string;
}

export class JoinRoomDto extends RoomDto implements JoinRoomRequest {
  /** Replay every stored message after this `seq` before live ones. */
  @Optional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  since?: number;
}
