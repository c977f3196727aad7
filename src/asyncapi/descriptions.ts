import type { ErrorCode } from '../protocol/error-codes.js';
import type { ClientEvent, CloseCode, ServerEvent } from '../protocol/events.js';

/*
 * The prose of the AsyncAPI document (docs/protocol.md says the same for
 * readers of the repository). Each table is typed by its catalogue, so an
 * event, error code or close code added without a word here does not compile.
 */

export const CLIENT_EVENT_SUMMARIES: Record<ClientEvent, string> = {
  auth: 'Authenticate a socket opened without a token (first-frame authentication)',
  'auth.refresh':
    "Replace the socket's token by a newer one of the same user: its `exp` becomes the socket's deadline, " +
    'later (keeping the socket open past the old `exp`) or earlier. An expired token is refused with `UNAUTHORIZED`',
  ping: 'Measure latency or keep intermediaries awake; answered by `pong`',
  'room.join':
    'Join a room to receive its pushes (created on first use). With `since`, every stored message after that `seq` ' +
    'is pushed after the reply, then the live ones, with no gap and no duplicate',
  'room.leave': 'Leave a room; leaving a room the socket is not in is not an error',
  'message.send':
    'Send a message; the reply comes once it is stored. A resend with the same `clientMsgId` ' +
    'answers the first `seq` with `duplicate: true` and delivers nothing again',
  'message.edit': "Replace a message's text; members receive `message.updated`",
  'message.delete': 'Delete a message (its `seq` stays taken); members receive `message.deleted`',
  'history.fetch':
    'A page of history, ascending by `seq`: the newest without a cursor, just below `before`, just above `after`, ' +
    'or strictly between both; `hasMore` looks past the page in the direction of paging',
  'presence.list': 'Who is in a room, each user once',
  typing: "Tell the room's other sockets that you are typing; not stored",
};

export const SERVER_EVENT_SUMMARIES: Record<ServerEvent, string> = {
  error: 'A request failed (with its `id`), or a frame could not be read (then without `id`)',
  pong: 'The reply to `ping`',
  message:
    "A message of a room the socket joined, live or replayed after `since`; each room's in `seq` order, once per join. " +
    'A replayed message that was deleted comes as history shows it, `{room, seq, deleted: true}`',
  'message.updated': 'A message of a joined room was edited',
  'message.deleted': 'A message of a joined room was deleted',
  'presence.join': "A user's first socket joined the room",
  'presence.leave': "A user's last socket left the room or disconnected",
  typing: 'Another user in the room is typing',
  'room.removed': 'The server took the socket out of the room: it lost `room.join` there, or the room was archived',
};

export const ERROR_CODE_MEANINGS: Record<ErrorCode, string> = {
  BAD_REQUEST:
    'not JSON, not an object, a binary frame, an unknown event, or failed validation (`details` lists each field and constraint)',
  UNAUTHORIZED: 'not authenticated yet (first-frame authentication), or a bad or expired token in `auth` or `auth.refresh`',
  FORBIDDEN: 'the permission is missing in that room; `auth.refresh` with a token of another user',
  NOT_FOUND: 'the room does not exist or is archived; no message with that `seq`',
  CONFLICT: 'editing a deleted message',
  RATE_LIMITED: 'too many frames (the frame was not processed), or a cap reached (rooms per socket)',
  UNAVAILABLE: 'storage is down or the server is restarting: nothing was done, try again',
  INTERNAL: 'a server fault; the request may not have been processed',
};

export const CLOSE_CODE_MEANINGS: Record<keyof typeof CloseCode, string> = {
  POLICY_VIOLATION: 'first-frame `auth` for a user who already has the most sockets allowed: close another socket first',
  MESSAGE_TOO_BIG: 'a frame exceeded the size limit: send smaller frames',
  SERVICE_RESTART: 'the server is restarting: reconnect (another node), join with `since`, resend unacknowledged sends',
  UNAUTHORIZED: 'the token expired, or first-frame `auth` failed or did not come in time: get a new token and reconnect',
  DISCONNECTED_BY_ADMIN: 'an administrator disconnected the user: do not reconnect automatically',
  FLOODING: 'kept sending faster than the rate limit for too long: slow down before reconnecting',
  SLOW_CONSUMER: 'did not read fast enough: reconnect and resume with `since`',
};
