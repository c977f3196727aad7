/**
 * The Switchboard client SDK, for browsers and Node: `import { connect } from 'switchboard/client'`.
 * Its types come from the server's own protocol definitions (src/protocol).
 */
export { connect, SwitchboardClient } from './switchboard-client.js';
export type { ClientEvents, ClientOptions, ConnectionState, JoinOptions, RequestOptions, SendOptions, StateChange } from './switchboard-client.js';
export { SwitchboardError, type ClientErrorCode } from './errors.js';
export type { ReconnectOptions } from './reconnect.js';
export type { TokenSource } from './token.js';
export type { AuthMode, WebSocketConstructor, WebSocketLike } from './transport.js';
export type { ErrorCode, ErrorDetail } from '../src/protocol/error-codes.js';
export type {
  DeletedMessageView,
  HistoryEntry,
  HistoryPage,
  MessageDeletedPush,
  MessageUpdatedPush,
  MessageView,
  RoomRemovedPush,
  RoomUserPush,
  SendAck,
  UserView,
} from '../src/protocol/wire.js';
export type * from '../src/protocol/event-map.js';
