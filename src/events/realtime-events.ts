import type { MessageView } from '../protocol/wire.js';

/**
 * Events host code can listen to with `@OnEvent(RealtimeEvents.MESSAGE_CREATED)`
 * (the host imports `EventEmitterModule.forRoot()`).
 */
export const RealtimeEvents = {
  MESSAGE_CREATED: 'realtime.message.created',
  MESSAGE_EDITED: 'realtime.message.edited',
  MESSAGE_DELETED: 'realtime.message.deleted',
  SOCKET_OPENED: 'realtime.socket.opened',
  SOCKET_CLOSED: 'realtime.socket.closed',
  ROLE_CHANGED: 'realtime.role.changed',
  ASSIGNMENT_CHANGED: 'realtime.assignment.changed',
} as const;

export interface MessageEventPayload {
  tenantId: string;
  message: MessageView;
}

export interface MessageEditedEventPayload {
  tenantId: string;
  room: string;
  seq: number;
  text: string;
  /** ISO 8601, as in the `message.updated` push. */
  editedAt: string;
  editedBy: string;
}

export interface MessageDeletedEventPayload {
  tenantId: string;
  room: string;
  seq: number;
  deletedBy: string;
}

export interface SocketEventPayload {
  connectionId: string;
  userId: string;
  tenantId: string;
  /** Only on close. */
  code?: number;
}

export interface RoleChangedEventPayload {
  tenantId: string;
  role: string;
  change: 'created' | 'updated' | 'deleted';
  actorId: string;
}

export interface AssignmentChangedEventPayload {
  tenantId: string;
  userId: string;
  role: string;
  scope: string | null;
  change: 'granted' | 'revoked';
  actorId: string;
}

/** What each of `RealtimeEvents` carries: `@OnEvent(RealtimeEvents.X) on(payload: RealtimeEventPayloads[typeof RealtimeEvents.X])`. */
export interface RealtimeEventPayloads {
  [RealtimeEvents.MESSAGE_CREATED]: MessageEventPayload;
  [RealtimeEvents.MESSAGE_EDITED]: MessageEditedEventPayload;
  [RealtimeEvents.MESSAGE_DELETED]: MessageDeletedEventPayload;
  [RealtimeEvents.SOCKET_OPENED]: SocketEventPayload;
  [RealtimeEvents.SOCKET_CLOSED]: SocketEventPayload;
  [RealtimeEvents.ROLE_CHANGED]: RoleChangedEventPayload;
  [RealtimeEvents.ASSIGNMENT_CHANGED]: AssignmentChangedEventPayload;
}
