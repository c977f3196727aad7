import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { messageKey } from '../../src/asyncapi/asyncapi-document.js';
import { PERMISSION_CATALOGUE } from '../../src/authorization/permissions.js';
import { ClientEvent, replyEventFor, ServerEvent } from '../../src/protocol/events.js';
import { freshDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { suiteServer } from '../support/suite-server.js';
import { TestClient, type Frame } from '../support/test-client.js';
import { startServer } from '../support/test-server.js';
import { token } from '../support/tokens.js';

const DOCUMENT_ID = 'asyncapi.json';

/** The document with every described object closed (`additionalProperties: false`), so that a field the server sends but the document omits fails. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, closed(value)]));
  return 'properties' in copy && !('additionalProperties' in copy) ? { ...copy, additionalProperties: false } : copy;
}

// The document does not depend on the database: one SQLite server is enough. It runs with
// first-frame authentication and an auth cookie, so that every part of the document is live.
describe('AsyncAPI document [sqlite]', () => {
  const suite = suiteServer('sqlite', { WS_FIRST_FRAME_AUTH: 'true', WS_AUTH_COOKIE: 'sb_token' });
  let document: any;
  let ajv: Ajv;

  beforeAll(async () => {
    const { status, body } = await http(suite.server.httpUrl, 'GET', '/asyncapi.json');
    expect(status).toBe(200);
    document = body;
    ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addSchema(closed(document) as object, DOCUMENT_ID);
  });

  /** The frame's validation errors against the payload of the document's message `key` (none: valid). */
  function errors(key: string, frame: unknown): string[] {
    expect(document.components.messages[key]).toBeDefined();
    const validate = ajv.compile({ $ref: `${DOCUMENT_ID}#/components/messages/${key}/payload` });
    return validate(frame) ? [] : validate.errors!.map((e) => `${key}: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  }

  it('is served without a token as a valid AsyncAPI 3.0 document, and the OpenAPI description points to it', async () => {
    const response = await fetch(`${suite.server.httpUrl}/asyncapi.json`);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(document.asyncapi).toBe('3.0.0');
    const { document: parsed, diagnostics } = await new Parser().parse(document);
    expect(diagnostics.filter((d) => d.severity === 0)).toEqual([]);
    expect(parsed?.channels().all().map((channel) => channel.address())).toEqual(['/ws']);

    expect(document.servers.switchboard.security.map((s: { $ref: string }) => s.$ref.split('/').pop())).toEqual([
      'bearerHeader',
      'accessTokenQuery',
      'cookie',
    ]);
    expect(document.components.securitySchemes.cookie).toMatchObject({ type: 'httpApiKey', in: 'cookie', name: 'sb_token' });
    expect(document.servers.switchboard.description).toContain('must send `auth` within 5000 ms');

    const openApi = await http(suite.server.httpUrl, 'GET', '/docs-json');
    expect(openApi.body.info.description).toContain('/asyncapi.json');
  });

  it('names every client event with its permissions and every server event', () => {
    for (const event of Object.values(ClientEvent)) {
      const operation = document.operations[event];
      expect(operation).toMatchObject({ action: 'receive', messages: [{ $ref: `#/channels/realtime/messages/${messageKey.request(event)}` }] });
      // The gateway's @RequirePermission, as read for the document, agrees with the permission catalogue.
      const guarding = PERMISSION_CATALOGUE.filter((permission) => permission.events.includes(event)).map((permission) => permission.key);
      expect({ event, permissions: operation['x-permissions'] }).toEqual({ event, permissions: guarding });
    }
    expect(document.operations['auth']['x-before-authentication']).toBe(true);
    expect(document.operations['message.edit'].description).toContain('`message.edit.any`');

    const sentByServer = Object.values(document.components.messages as Record<string, any>)
      .filter((message) => !message.title.endsWith(' request'))
      .map((message) => message.payload.properties.event.const);
    expect(new Set(sentByServer)).toEqual(new Set([...Object.values(ServerEvent), ...Object.values(ClientEvent).map(replyEventFor)]));
    for (const event of Object.values(ServerEvent).filter((e) => e !== ServerEvent.PONG)) {
      expect(document.operations[`push.${event}`]).toMatchObject({ action: 'send' });
    }
  });

  it('carries the constraints of the DTOs the gateway validates with', () => {
    const { schemas } = document.components;
    for (const dto of ['JoinRoomDto', 'RoomDto', 'SendMessageDto', 'EditMessageDto', 'DeleteMessageDto', 'FetchHistoryDto']) {
      expect(schemas[dto].properties.room).toEqual({ type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]{1,128}$' });
      expect(schemas[dto].required).toContain('room');
    }
    expect(schemas.SendMessageDto.properties.text).toMatchObject({ type: 'string', minLength: 1, maxLength: 4000 });
    expect(schemas.SendMessageDto.properties.clientMsgId).toMatchObject({ type: 'string', minLength: 1, maxLength: 64 });
    expect(schemas.SendMessageDto.properties.payload).toMatchObject({ type: 'object' });
    expect(schemas.SendMessageDto.required).toEqual(['room', 'clientMsgId']);
    expect(schemas.SendMessageDto.anyOf).toEqual([{ required: ['text'] }, { required: ['payload'] }]);
    expect(schemas.FetchHistoryDto.properties.limit).toEqual({ type: 'integer', minimum: 1, maximum: 100 });
    expect(schemas.JoinRoomDto.properties.since).toMatchObject({ type: 'integer', minimum: 0 });
    expect(schemas.TokenDto.properties.token).toMatchObject({ type: 'string', minLength: 1 });
  });

  it('describes the frames of a live session: every request, reply, push and error validates, and each message of the document occurs', async () => {
    const alice = await suite.connect('alice', { name: 'Alice' }, { via: 'query' });
    const bob = await suite.connect('bob', { name: 'Bob' }, { via: { cookie: 'sb_token' } });
    // First-frame authentication: a socket opened without a token.
    const carol = await TestClient.connect(suite.server.wsUrl);
    const clients = [alice, bob, carol];
    const requestEvents = new Map<string, string>();
    const problems: string[] = [];
    const seen = new Set<string>();
    const check = (key: string, frame: unknown) => {
      seen.add(key);
      problems.push(...errors(key, frame));
    };
    const request = async (client: TestClient, event: string, data?: unknown) => {
      const answer = await client.request(event, data);
      check(messageKey.request(event), { event, id: answer.id, data });
      requestEvents.set(answer.id!, event);
      return answer;
    };

    await request(carol, 'auth', { token: token('carol') });
    await request(alice, 'room.join', { room: 'docs' });
    await request(bob, 'room.join', { room: 'docs', since: 0 });
    await alice.nextPush('presence.join', 'docs');
    const sent = await request(alice, 'message.send', { room: 'docs', text: 'hello', payload: { quote: 1.25 }, clientMsgId: 'c-1' });
    await request(alice, 'message.send', { room: 'docs', payload: { quote: 1.5 }, clientMsgId: 'c-2' });
    await bob.nextPush('message', 'docs');
    await request(alice, 'message.edit', { room: 'docs', seq: sent.data.seq, text: 'hello, edited' });
    await request(alice, 'message.delete', { room: 'docs', seq: sent.data.seq + 1 });
    await bob.nextPush('message.updated', 'docs');
    await bob.nextPush('message.deleted', 'docs');
    const page = await request(bob, 'history.fetch', { room: 'docs', limit: 10 });
    expect(page.data.messages.map((m: { deleted?: boolean }) => m.deleted ?? false)).toEqual([false, true]);
    // A replay shows the deleted message as history does.
    await request(carol, 'room.join', { room: 'docs', since: 0 });
    await carol.next((frame) => frame.event === 'message' && frame.data.deleted === true);
    await request(bob, 'presence.list', { room: 'docs' });
    await request(bob, 'typing', { room: 'docs' });
    await alice.nextPush('typing', 'docs');
    await request(bob, 'ping');
    await request(bob, 'auth.refresh', { token: token('bob', { name: 'Bob', expiresIn: 7200 }) });
    await request(bob, 'room.leave', { room: 'docs' });
    await alice.nextPush('presence.leave', 'docs');

    // Errors, with an id and details, and without an id for a frame that could not be read.
    const invalid = await alice.request('message.send', { room: 'no spaces', text: 'x', clientMsgId: 'c-3' });
    requestEvents.set(invalid.id!, 'message.send');
    expect(invalid.data).toMatchObject({ code: 'BAD_REQUEST', details: [expect.objectContaining({ field: 'room' })] });
    alice.sendRaw('not json');
    await alice.next((frame) => frame.event === 'error' && frame.id === undefined);

    // An archived room takes its members out of it.
    expect((await http(suite.server.httpUrl, 'DELETE', '/admin/rooms/docs', { token: token('root') })).status).toBe(200);
    await alice.nextPush('room.removed', 'docs');

    for (const frame of clients.flatMap((client) => client.frames)) {
      if (frame.event === ServerEvent.ERROR) check('error', frame);
      else if (frame.id !== undefined) check(messageKey.reply(requestEvents.get(frame.id)!), frame);
      else check(messageKey.push(frame.event), frame);
    }
    expect(problems).toEqual([]);
    expect([...seen].sort()).toEqual(Object.keys(document.components.messages).sort());
    await carol.close();
  });

  it('refuses, like the server, requests that break the constraints', async () => {
    const alice = await suite.connect('alice');
    const refused: Array<[string, Record<string, unknown>]> = [
      ['room.join', { room: 'x'.repeat(129) }],
      ['room.join', { room: 'checks', since: -1 }],
      ['message.send', { room: 'checks', text: 'x'.repeat(4001), clientMsgId: 'c' }],
      ['message.send', { room: 'checks', clientMsgId: 'c' }],
      ['message.send', { room: 'checks', text: 'hi' }],
      ['message.edit', { room: 'checks', seq: '3', text: 'hi' }],
      ['history.fetch', { room: 'checks', limit: 101 }],
      ['auth.refresh', { token: '' }],
    ];
    for (const [event, data] of refused) {
      const frame: Frame = await alice.request(event, data);
      expect({ event, data, answer: frame.data.code }).toEqual({ event, data, answer: 'BAD_REQUEST' });
      expect({ event, data, valid: errors(messageKey.request(event), { event, data }).length === 0 }).toEqual({ event, data, valid: false });
    }
  });
});

describe('AsyncAPI document switched off [sqlite]', () => {
  it('is not served when OPENAPI_DOCS=false', async () => {
    const server = await startServer(await freshDatabase('sqlite'), { OPENAPI_DOCS: 'false' });
    try {
      expect((await http(server.httpUrl, 'GET', '/asyncapi.json')).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
