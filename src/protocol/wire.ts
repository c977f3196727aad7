import type { ErrorCode, ErrorDetail } from './error-codes.js';

/** A frame as a client sends it. */
export interface ClientFrame {
  event: string;
  id?: string;
  data?: Record<string, unknown>;
}

export interface ErrorFrameData {
  code: ErrorCode;
  message: string;
  event?: string;
  details?: ErrorDetail[];
}

export interface UserView {
  id: string;
  name: string;
}

/** The sender of messages published by host code and the admin API; no token may claim its id. */
export const SYSTEM_SENDER: UserView = { id: 'system', name: 'System' };

/** A stored message as pushed live, replayed and returned by history. */
export interface MessageView {
  room: string;
  seq: number;
  messageId: string;
  clientMsgId: string;
  sender: UserView;
  text?: string;
  payload?: Record<string, unknown>;
  sentAt: string;
  editedAt?: string;
}

/** What history returns in place of a deleted message: its `seq` stays taken. */
export interface DeletedMessageView {
  room: string;
  seq: number;
  deleted: true;
}

export type HistoryEntry = MessageView | DeletedMessageView;

/** The reply to `message.send` (and to every other way of publishing). */
export interface SendAck {
  room: string;
  seq: number;
  messageId: string;
  sentAt: string;
  duplicate: boolean;
}

export interface HistoryPage {
  room: string;
  messages: HistoryEntry[];
  hasMore: boolean;
}

export interface MessageUpdatedPush {
  room: string;
  seq: number;
  text: string;
  editedAt: string;
}

export interface MessageDeletedPush {
  room: string;
  seq: number;
}

export interface RoomUserPush {
  room: string;
  user: UserView;
}

export interface RoomRemovedPush {
  room: string;
  reason: 'forbidden' | 'archived';
}
