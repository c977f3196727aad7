import type { MessageView, HistoryEntry } from '../protocol/wire.js';
import type { MessageEntity } from './message.entity.js';

let lastEpochMs = NaN;
let lastIsoTime = '';

/** ISO 8601 of a time in ms; the last one is kept, as a batch's acks and pushes all carry its commit time. */
export function toIsoTime(epochMs: number): string {
  if (epochMs !== lastEpochMs) {
    lastIsoTime = new Date(epochMs).toISOString();
    lastEpochMs = epochMs;
  }
  return lastIsoTime;
}

/** The wire shape of a stored message; `payload` may be passed to skip parsing it again. */
export function toMessageView(message: MessageEntity, room: string, payload?: Record<string, unknown>): MessageView {
  const view: MessageView = {
    room,
    seq: message.seq,
    messageId: message.id,
    clientMsgId: message.clientMsgId,
    sender: { id: message.senderId, name: message.senderName },
    sentAt: toIsoTime(message.sentAt),
  };
  if (message.text !== null) view.text = message.text;
  if (message.payload !== null) view.payload = payload ?? (JSON.parse(message.payload) as Record<string, unknown>);
  if (message.editedAt !== null) view.editedAt = toIsoTime(message.editedAt);
  return view;
}

export function toHistoryEntry(message: MessageEntity, room: string): HistoryEntry {
  return message.deletedAt !== null ? { room, seq: message.seq, deleted: true } : toMessageView(message, room);
}
