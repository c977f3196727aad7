/** Event names of the wire protocol, in one place for the gateway, docs and tests. */
export const ClientEvent = {
  AUTH: 'auth',
  AUTH_REFRESH: 'auth.refresh',
  PING: 'ping',
  ROOM_JOIN: 'room.join',
  ROOM_LEAVE: 'room.leave',
  MESSAGE_SEND: 'message.send',
  MESSAGE_EDIT: 'message.edit',
  MESSAGE_DELETE: 'message.delete',
  HISTORY_FETCH: 'history.fetch',
  PRESENCE_LIST: 'presence.list',
  TYPING: 'typing',
} as const;
export type ClientEvent = (typeof ClientEvent)[keyof typeof ClientEvent];

export const ServerEvent = {
  ERROR: 'error',
  PONG: 'pong',
  MESSAGE: 'message',
  MESSAGE_UPDATED: 'message.updated',
  MESSAGE_DELETED: 'message.deleted',
  PRESENCE_JOIN: 'presence.join',
  PRESENCE_LEAVE: 'presence.leave',
  TYPING: 'typing',
  /** Extension: the server took this socket out of a room (access revoked, room archived). */
  ROOM_REMOVED: 'room.removed',
} as const;
export type ServerEvent = (typeof ServerEvent)[keyof typeof ServerEvent];

/** Replies carry the request's event name, except `ping`, answered by `pong`. */
export function replyEventFor(event: string): string {
  return event === ClientEvent.PING ? ServerEvent.PONG : event;
}

/** WebSocket close codes the server uses. */
export const CloseCode = {
  /** A limit the socket cannot keep to (too many sockets for the user). */
  POLICY_VIOLATION: 1008,
  /** A frame over the size limit (sent by the ws library itself). */
  MESSAGE_TOO_BIG: 1009,
  /** The server is shutting down or restarting: reconnect and resume with `since`. */
  SERVICE_RESTART: 1012,
  UNAUTHORIZED: 4001,
  DISCONNECTED_BY_ADMIN: 4003,
  /** Kept flooding past the rate limit. */
  FLOODING: 4008,
  /** Did not read fast enough: its outgoing buffer overflowed. */
  SLOW_CONSUMER: 4009,
} as const;
