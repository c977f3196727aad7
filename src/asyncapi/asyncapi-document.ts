import { PERMISSION_CATALOGUE } from '../authorization/permissions.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { CloseCode, replyEventFor, ServerEvent, type ClientEvent } from '../protocol/events.js';
import { REQUEST_ID_MAX_LENGTH } from '../protocol/limits.js';
import { ErrorFrameData, HISTORY_ENTRY_TYPES, SERVER_EVENT_DATA } from '../protocol/wire.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { CLIENT_EVENT_SUMMARIES, CLOSE_CODE_MEANINGS, ERROR_CODE_MEANINGS, SERVER_EVENT_SUMMARIES } from './descriptions.js';
import type { GatewayEvent } from './gateway-events.js';
import { schemaRef, schemasOf, type SchemaClass } from './json-schemas.js';

const ASYNCAPI_VERSION = '3.0.0';

/** The one channel: the WebSocket endpoint. */
const CHANNEL = 'realtime';
const ERROR_MESSAGE = 'error';

/** Message names: a client event's request and reply, a server event's push. */
export const messageKey = {
  request: (event: string) => `${event}.request`,
  reply: (event: string) => `${event}.reply`,
  push: (event: string) => `${event}.push`,
};

/** Plain JSON: the parts of the document are too varied for one narrower type. */
type Json = Record<string, unknown>;
export type AsyncApiDocument = Record<string, any>;

const channelRef = { $ref: `#/channels/${CHANNEL}` };
const messageRef = (key: string) => ({ $ref: `#/channels/${CHANNEL}/messages/${key}` });
const requestIdRef = { $ref: '#/components/schemas/RequestId' };
const correlationId = { $ref: '#/components/correlationIds/requestId' };

function code(text: string | number): string {
  return `\`${text}\``;
}

function table(head: [string, string], rows: Array<[string, string]>): string {
  return [`| ${head[0]} | ${head[1]} |`, '|---|---|', ...rows.map(([key, value]) => `| ${key} | ${value} |`)].join('\n');
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** A frame carrying `event` and `data`; requests and their answers have an optional `id`, pushes none. */
function frameSchema(event: string, data: Json, kind: 'request' | 'answer' | 'push'): Json {
  return {
    type: 'object',
    required: kind === 'request' ? ['event'] : ['event', 'data'],
    properties: {
      event: { const: event },
      ...(kind === 'push' ? {} : { id: requestIdRef }),
      data,
    },
    ...(kind === 'push' ? { not: { required: ['id'] } } : {}),
  };
}

/** The schema of a push's `data`: one class, or one of several. */
function dataSchema(type: SchemaClass | readonly SchemaClass[]): Json {
  return Array.isArray(type) ? { oneOf: type.map(schemaRef) } : schemaRef(type as SchemaClass);
}

function permissionText({ permissions, beforeAuthentication }: GatewayEvent): string {
  if (beforeAuthentication) return 'The one event a socket may send before it has authenticated.';
  if (permissions.length === 0) return 'Needs an authenticated socket and no permission.';
  const described = permissions.map((key) => `${code(key)} (${PERMISSION_CATALOGUE.find((p) => p.key === key)?.description})`);
  const which = described.length === 1 ? described[0] : `one of ${described.join(', ')}`;
  return `Needs ${which} in the room named by \`data.room\`, checked on every frame; a socket without it gets \`FORBIDDEN\`.`;
}

function firstFrameText({ auth }: ResolvedRealtimeOptions): string {
  return auth.firstFrameAuth
    ? `This server accepts upgrades without a token: such a socket must send \`auth\` within ${auth.firstFrameAuthTimeoutMs} ms, ` +
        'or it is closed with 4001 (as it is after a bad token in that frame); until then every other event answers `UNAUTHORIZED`.'
    : 'This server does not accept upgrades without a token (first-frame authentication is off), so `auth` is of no use here.';
}

function serverDescription(options: ResolvedRealtimeOptions): string {
  return [
    'The server that serves this document, on its HTTP port (`wss` behind TLS).',
    `The upgrade carries a JWT, verified with ${options.auth.algorithm} before any socket exists: claims \`sub\` (required), \`name\`,`,
    "`tid` (tenant: room names are the tenant's own) and `exp` (required). A missing, malformed, badly signed or expired token",
    'is answered HTTP 401, a disallowed `Origin` 403, too many sockets for the user 429; no socket is opened.',
    firstFrameText(options),
  ].join(' ');
}

function limitsText(websocket: ResolvedRealtimeOptions['websocket']): string {
  return [
    `Limits: frames up to ${websocket.maxPayloadBytes} bytes (close 1009);`,
    `every frame, good or bad, counts against ${websocket.rateLimitPerSecond} frames/s with bursts of ${websocket.rateLimitBurst}`,
    `(beyond: \`RATE_LIMITED\`, not processed; a refusal ${websocket.floodCloseAfterMs} ms into a flood, which lasts until a second's worth of frames was saved (in debt for large pages, until a second without refusals): close 4008);`,
    `${websocket.maxRoomsPerSocket} rooms per socket; ${websocket.maxSocketsPerUser} sockets per user and node;`,
    `${websocket.maxBufferedBytes} bytes of unread data (close 4009);`,
    `a protocol ping every ${websocket.pingIntervalMs} ms, two unanswered drop the socket.`,
  ].join(' ');
}

/** The ways a token may come with the upgrade; first-frame authentication is no scheme of AsyncAPI's (see `auth`). */
function securitySchemesFor(auth: ResolvedRealtimeOptions['auth']): Record<string, Json> {
  return {
    bearerHeader: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'An `Authorization: Bearer <jwt>` header on the upgrade request.',
    },
    accessTokenQuery: {
      type: 'httpApiKey',
      name: 'access_token',
      in: 'query',
      description: 'The JWT in the `access_token` query parameter, for browsers, which cannot set headers on a WebSocket.',
    },
    ...(auth.cookieName
      ? {
          cookie: {
            type: 'httpApiKey',
            name: auth.cookieName,
            in: 'cookie',
            description: 'The JWT in a cookie, for browser apps whose login sets an HttpOnly cookie.',
          },
        }
      : {}),
  };
}

/**
 * The AsyncAPI 3.0 document of the WebSocket protocol as this server speaks it:
 * events, schemas and permissions from the gateway's own decorators and DTOs,
 * the path, authentication modes and limits from the module's options.
 */
export function buildAsyncApiDocument(events: GatewayEvent[], options: ResolvedRealtimeOptions): AsyncApiDocument {
  const { websocket, auth } = options;
  const messages: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  for (const handled of events) {
    const { event } = handled;
    const summary = CLIENT_EVENT_SUMMARIES[event as ClientEvent];
    messages[messageKey.request(event)] = {
      name: event,
      title: `${event} request`,
      summary,
      description: 'An absent `data` counts as `{}`.',
      correlationId,
      payload: frameSchema(event, handled.data ? schemaRef(handled.data) : { type: 'object' }, 'request'),
    };
    messages[messageKey.reply(event)] = {
      name: replyEventFor(event),
      title: `${event} reply`,
      correlationId,
      payload: frameSchema(replyEventFor(event), schemaRef(handled.reply), 'answer'),
    };
    operations[event] = {
      action: 'receive',
      channel: channelRef,
      title: event,
      summary,
      description: [permissionText(handled), handled.beforeAuthentication ? firstFrameText(options) : ''].filter(Boolean).join('\n\n'),
      messages: [messageRef(messageKey.request(event))],
      reply: { channel: channelRef, messages: [messageRef(messageKey.reply(event)), messageRef(ERROR_MESSAGE)] },
      'x-permissions': handled.permissions,
      'x-before-authentication': handled.beforeAuthentication,
    };
  }
  messages[ERROR_MESSAGE] = {
    name: ServerEvent.ERROR,
    title: 'error',
    summary: SERVER_EVENT_SUMMARIES.error,
    description: `A bad frame never closes the socket and never affects other clients.\n\n${table(
      ['code', 'when'],
      Object.values(ErrorCode).map((error) => [code(error), ERROR_CODE_MEANINGS[error]]),
    )}`,
    correlationId,
    payload: frameSchema(ServerEvent.ERROR, schemaRef(ErrorFrameData), 'answer'),
  };
  // Every server event may come unasked (`error` without an `id`), except `pong`, which only answers `ping`.
  for (const event of Object.values(ServerEvent).filter((e) => e !== ServerEvent.PONG)) {
    const key = event === ServerEvent.ERROR ? ERROR_MESSAGE : messageKey.push(event);
    messages[key] ??= {
      name: event,
      title: `${event} push`,
      summary: SERVER_EVENT_SUMMARIES[event],
      payload: frameSchema(event, dataSchema(SERVER_EVENT_DATA[event]), 'push'),
    };
    operations[`push.${event}`] = {
      action: 'send',
      channel: channelRef,
      title: `${event} push`,
      summary: SERVER_EVENT_SUMMARIES[event],
      messages: [messageRef(key)],
    };
  }

  const schemaRoots = [
    ...events.flatMap((e) => (e.data ? [e.data, e.reply] : [e.reply])),
    ...Object.values(SERVER_EVENT_DATA).flat(),
    ...HISTORY_ENTRY_TYPES,
  ];
  const securitySchemes = securitySchemesFor(auth);
  const closeCodes = Object.entries(CloseCode).map(([name, value]) => ({
    code: value,
    name,
    meaning: CLOSE_CODE_MEANINGS[name as keyof typeof CloseCode],
  }));

  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'Switchboard WebSocket protocol',
      version: '1',
      description: [
        'Rooms, durable ordered messages, presence and typing over one WebSocket, one JSON object per text frame.',
        [
          'A client sends requests `{"event", "id"?, "data"}`; each is answered by a frame with the same `id`:',
          'the reply (named after the request, `pong` for `ping`) or an `error`. The server also pushes frames without `id`.',
          'Replies to one socket may come out of order: match them by `id`.',
        ].join(' '),
        [
          'Values are not coerced (`"3"` is not a number), an optional field is absent or valid (`null` is refused),',
          'lengths count Unicode code points, and unknown fields of `data` are ignored.',
        ].join(' '),
        [
          "This document is generated from the server's own validation classes, reply shapes and permission checks;",
          'the REST API is described by the OpenAPI document at `/docs`.',
        ].join(' '),
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      switchboard: {
        host: '{host}',
        protocol: 'ws',
        protocolVersion: '13',
        title: 'This server',
        description: serverDescription(options),
        variables: { host: { description: 'host and port of the server', examples: ['localhost:3000'] } },
        security: Object.keys(securitySchemes).map((name) => ({ $ref: `#/components/securitySchemes/${name}` })),
      },
    },
    channels: {
      [CHANNEL]: {
        address: websocket.path,
        title: 'The realtime socket',
        description: [
          'Every request and push of the protocol travels on this one socket.',
          limitsText(websocket),
          `Close codes:\n\n${table(['code', 'meaning'], closeCodes.map(({ code: value, meaning }) => [code(value), meaning]))}`,
        ].join('\n\n'),
        messages: Object.fromEntries(Object.keys(messages).map((key) => [key, { $ref: `#/components/messages/${key}` }])),
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: { access_token: { type: 'string', description: 'the JWT, when it cannot travel in a header' } },
            },
            headers: {
              type: 'object',
              properties: { Authorization: { type: 'string', pattern: '^Bearer ', description: '`Bearer <jwt>`' } },
            },
            bindingVersion: '0.1.0',
          },
        },
        'x-close-codes': closeCodes,
      },
    },
    operations,
    components: {
      schemas: {
        RequestId: {
          type: 'string',
          maxLength: REQUEST_ID_MAX_LENGTH,
          description: "The client's name for a request, echoed in its reply or error",
        },
        ...sortedByKey(schemasOf(schemaRoots)),
      },
      messages,
      securitySchemes,
      correlationIds: {
        requestId: {
          location: '$message.payload#/id',
          description: 'A request and its answer (reply or `error`) carry the same `id`',
        },
      },
    },
  };
}
