import type {
  AuthReply,
  EditAck,
  HistoryEntry,
  HistoryPage,
  JoinReply,
  MessageDeletedPush,
  MessageUpdatedPush,
  Pong,
  PresenceList,
  RefreshReply,
  RoomRemovedPush,
  RoomReply,
  RoomUserPush,
  SendAck,
} from './wire.js';

/**
 * The `data` of every request and of its reply, per event: one definition
 * for the server (its DTOs implement the requests, its handlers return the
 * replies) and for the client SDK in /client. Types only, so that browser
 * code can import them without pulling in the server.
 */

/** `room.leave`, `presence.list`, `typing`: just a room. */
export interface RoomRequest {
  room: string;
}

export interface JoinRoomRequest extends RoomRequest {
  /** Replay every stored message after this `seq` before live ones. */
  since?: number;
}

/** What a message holds: `text`, `payload` or both. */
export interface MessageContent {
  text?: string;
  payload?: Record<string, unknown>;
}

export interface SendMessageRequest extends MessageContent {
  room: string;
  clientMsgId: string;
}

export interface EditMessageRequest {
  room: string;
  seq: number;
  text: string;
}

export interface DeleteMessageRequest {
  room: string;
  seq: number;
}

export interface HistoryQuery {
  before?: number;
  after?: number;
  limit?: number;
}

export interface FetchHistoryRequest extends HistoryQuery {
  room: string;
}

/** `auth` (first-frame authentication) and `auth.refresh`. */
export interface TokenRequest {
  token: string;
}

/** Each client event: what its `data` holds and what its reply's `data` holds. */
export interface RequestMap {
  auth: { request: TokenRequest; reply: AuthReply };
  'auth.refresh': { request: TokenRequest; reply: RefreshReply };
  ping: { request: Record<string, never>; reply: Pong };
  'room.join': { request: JoinRoomRequest; reply: JoinReply };
  'room.leave': { request: RoomRequest; reply: RoomReply };
  'message.send': { request: SendMessageRequest; reply: SendAck };
  'message.edit': { request: EditMessageRequest; reply: EditAck };
  'message.delete': { request: DeleteMessageRequest; reply: MessageDeletedPush };
  'history.fetch': { request: FetchHistoryRequest; reply: HistoryPage };
  'presence.list': { request: RoomRequest; reply: PresenceList };
  typing: { request: RoomRequest; reply: RoomReply };
}

export type RequestOf<E extends keyof RequestMap> = RequestMap[E]['request'];
export type ReplyOf<E extends keyof RequestMap> = RequestMap[E]['reply'];

/** Each server push (a frame without `id`) and its `data`. */
export interface PushMap {
  /** A deleted message as history shows it, in a replay or a catch-up. */
  message: HistoryEntry;
  'message.updated': MessageUpdatedPush;
  'message.deleted': MessageDeletedPush;
  'presence.join': RoomUserPush;
  'presence.leave': RoomUserPush;
  typing: RoomUserPush;
  'room.removed': RoomRemovedPush;
}
