import { Type } from 'class-transformer';
import { Equals, IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsString, IsUUID, Max, Min, ValidateNested } from 'class-validator';
import { JSONSchema } from 'class-validator-jsonschema';
import { ErrorCode } from './error-codes.js';
import { ServerEvent } from './events.js';
import { CLIENT_MSG_ID_MAX_LENGTH, TEXT_MAX_LENGTH } from './limits.js';
import { HasContent, IsPayload, IsRoomName, IsText, Optional } from './validators.js';

/*
 * The shapes the server sends. They are classes so that their decorators can
 * describe them in the generated AsyncAPI document (`/asyncapi.json`), with
 * the same validators as the requests; the server does not validate its own
 * output with them.
 */

const SEQ_MAX = Number.MAX_SAFE_INTEGER;

/** A frame as a client sends it. */
export interface ClientFrame {
  event: string;
  id?: string;
  data?: Record<string, unknown>;
}

/** One failed constraint of one field, as listed in an error's `details`. */
export class ErrorDetail {
  @IsString() field!: string;
  @IsString() constraint!: string;
  @IsString() message!: string;
}

export class ErrorFrameData {
  @IsIn(Object.values(ErrorCode)) code!: ErrorCode;
  @IsString() message!: string;
  /** The request's event, when the frame could be read that far. */
  @Optional() @IsString() event?: string;
  @Optional() @ValidateNested({ each: true }) @Type(() => ErrorDetail) details?: ErrorDetail[];
}

export class UserView {
  @IsString() id!: string;
  @IsString() name!: string;
}

/** The sender of messages published by host code and the admin API; no token may claim its id. */
export const SYSTEM_SENDER: UserView = { id: 'system', name: 'System' };

/** A stored message as pushed live, replayed and returned by history. */
@HasContent()
export class MessageView {
  @IsRoomName() room!: string;
  @IsInt() @Min(1) @Max(SEQ_MAX) seq!: number;
  @IsUUID() messageId!: string;
  @IsText(1, CLIENT_MSG_ID_MAX_LENGTH) clientMsgId!: string;
  @ValidateNested() @Type(() => UserView) sender!: UserView;
  @Optional() @IsText(1, TEXT_MAX_LENGTH) text?: string;
  @Optional() @IsPayload() payload?: Record<string, unknown>;
  @IsISO8601() sentAt!: string;
  @Optional() @IsISO8601() editedAt?: string;
}

/** What history and a replay return in place of a deleted message: its `seq` stays taken. */
export class DeletedMessageView {
  @IsRoomName() room!: string;
  @IsInt() @Min(1) @Max(SEQ_MAX) seq!: number;
  @Equals(true) deleted!: true;
}

/** The classes a history entry may be, in the order a reader should try them. */
export const HISTORY_ENTRY_TYPES = [MessageView, DeletedMessageView] as const;
export type HistoryEntry = MessageView | DeletedMessageView;

/** The reply to `message.send` (and to every other way of publishing). */
export class SendAck {
  @IsRoomName() room!: string;
  @IsInt() @Min(1) @Max(SEQ_MAX) seq!: number;
  @IsUUID() messageId!: string;
  @IsISO8601() sentAt!: string;
  @IsBoolean() duplicate!: boolean;
}

export class HistoryPage {
  @IsRoomName() room!: string;
  @IsArray()
  @JSONSchema((schema, options) => ({
    ...schema,
    items: { oneOf: HISTORY_ENTRY_TYPES.map((type) => ({ $ref: `${options.refPointerPrefix}${type.name}` })) },
  }))
  messages!: HistoryEntry[];
  @IsBoolean() hasMore!: boolean;
}

/** The `message.updated` push. */
export class MessageUpdatedPush {
  @IsRoomName() room!: string;
  @IsInt() @Min(1) @Max(SEQ_MAX) seq!: number;
  @IsText(1, TEXT_MAX_LENGTH) text!: string;
  @IsISO8601() editedAt!: string;
}

/** The `message.deleted` push, and the reply to `message.delete`. */
export class MessageDeletedPush {
  @IsRoomName() room!: string;
  @IsInt() @Min(1) @Max(SEQ_MAX) seq!: number;
}

/** `presence.join`, `presence.leave` and `typing` pushes. */
export class RoomUserPush {
  @IsRoomName() room!: string;
  @ValidateNested() @Type(() => UserView) user!: UserView;
}

export const ROOM_REMOVED_REASONS = ['forbidden', 'archived'] as const;

export class RoomRemovedPush {
  @IsRoomName() room!: string;
  @IsIn(ROOM_REMOVED_REASONS) reason!: (typeof ROOM_REMOVED_REASONS)[number];
}

/** The reply to `room.join`: the room's newest `seq` (0 for a fresh room). */
export class JoinReply {
  @IsRoomName() room!: string;
  @IsInt() @Min(0) @Max(SEQ_MAX) lastSeq!: number;
}

/** The reply to `room.leave` and `typing`. */
export class RoomReply {
  @IsRoomName() room!: string;
}

/** The reply to `message.edit`. */
export class EditAck {
  @IsRoomName() room!: string;
  @IsInt() @Min(1) @Max(SEQ_MAX) seq!: number;
  @IsISO8601() editedAt!: string;
}

/** The reply to `presence.list`: each user once, however many sockets they have in the room. */
export class PresenceList {
  @IsRoomName() room!: string;
  @ValidateNested({ each: true }) @Type(() => UserView) users!: UserView[];
}

/** The reply to a first-frame `auth`. */
export class AuthReply {
  @ValidateNested() @Type(() => UserView) user!: UserView;
  /** The token's expiry, in seconds since the epoch (as in JWT). */
  @IsInt() exp!: number;
}

/** The reply to `auth.refresh`: the socket's new deadline, in seconds since the epoch. */
export class RefreshReply {
  @IsInt() exp!: number;
}

/** The reply to `ping`, in milliseconds since the epoch. */
export class Pong {
  @IsInt() time!: number;
}

/** What each server event carries in `data`, one of several classes for a list (for generated documentation and typed clients). */
export const SERVER_EVENT_DATA = {
  [ServerEvent.ERROR]: ErrorFrameData,
  [ServerEvent.PONG]: Pong,
  // Live, always a message; replayed or caught up, a deleted one as history shows it.
  [ServerEvent.MESSAGE]: HISTORY_ENTRY_TYPES,
  [ServerEvent.MESSAGE_UPDATED]: MessageUpdatedPush,
  [ServerEvent.MESSAGE_DELETED]: MessageDeletedPush,
  [ServerEvent.PRESENCE_JOIN]: RoomUserPush,
  [ServerEvent.PRESENCE_LEAVE]: RoomUserPush,
  [ServerEvent.TYPING]: RoomUserPush,
  [ServerEvent.ROOM_REMOVED]: RoomRemovedPush,
} as const satisfies Record<ServerEvent, (new () => object) | readonly (new () => object)[]>;
