import { ClientEvent } from '../protocol/events.js';

export const Permission = {
  ROOM_JOIN: 'room.join',
  MESSAGE_SEND: 'message.send',
  MESSAGE_EDIT: 'message.edit',
  MESSAGE_EDIT_ANY: 'message.edit.any',
  MESSAGE_DELETE: 'message.delete',
  MESSAGE_DELETE_ANY: 'message.delete.any',
  HISTORY_READ: 'history.read',
  PRESENCE_READ: 'presence.read',
  ADMIN_MANAGE: 'admin.manage',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

export interface PermissionDescription {
  key: Permission;
  description: string;
  /** WebSocket events it guards. */
  events: string[];
  /** REST routes it guards. */
  routes: string[];
}

export const PERMISSION_CATALOGUE: readonly PermissionDescription[] = [
  { key: Permission.ROOM_JOIN, description: 'Join a room and receive its messages, edits, deletions, presence and typing', events: [ClientEvent.ROOM_JOIN], routes: ['GET /rooms/:room/events', 'GET /rooms/:room/poll'] },
  { key: Permission.MESSAGE_SEND, description: 'Send messages to a room and signal typing', events: [ClientEvent.MESSAGE_SEND, ClientEvent.TYPING], routes: ['POST /rooms/:room/messages'] },
  { key: Permission.MESSAGE_EDIT, description: 'Edit your own messages', events: [ClientEvent.MESSAGE_EDIT], routes: [] },
  { key: Permission.MESSAGE_EDIT_ANY, description: "Edit anyone's messages", events: [ClientEvent.MESSAGE_EDIT], routes: [] },
  { key: Permission.MESSAGE_DELETE, description: 'Delete your own messages', events: [ClientEvent.MESSAGE_DELETE], routes: [] },
  { key: Permission.MESSAGE_DELETE_ANY, description: "Delete anyone's messages", events: [ClientEvent.MESSAGE_DELETE], routes: [] },
  { key: Permission.HISTORY_READ, description: "Read a room's history", events: [ClientEvent.HISTORY_FETCH], routes: ['GET /rooms/:room/messages'] },
  { key: Permission.PRESENCE_READ, description: 'See who is in a room', events: [ClientEvent.PRESENCE_LIST], routes: [] },
  { key: Permission.ADMIN_MANAGE, description: 'Manage roles, assignments and rooms, publish, moderate, disconnect users, read the audit log', events: [], routes: ['/admin/*'] },
];

const KNOWN = new Set<string>(PERMISSION_CATALOGUE.map((p) => p.key));

export function isKnownPermission(key: string): boolean {
  return KNOWN.has(key);
}
