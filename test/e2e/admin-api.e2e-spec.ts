import { describeEachDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { suiteServer } from '../support/suite-server.js';
import { token } from '../support/tokens.js';

describeEachDatabase('admin REST API', (kind) => {
  const suite = suiteServer(kind);
  const connect = (sub: string) => suite.connect(sub);
  const root = token('root');
  const call = (method: string, path: string, body?: unknown, as: string = root) =>
    http(suite.server.httpUrl, method, path, { token: as, body });

  it('needs a valid bearer token (401) holding admin.manage (403), in the Authorization header only', async () => {
    const missing = await http(suite.server.httpUrl, 'GET', '/admin/roles');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ statusCode: 401, code: 'UNAUTHORIZED', message: 'an access token is required' });
    expect((await call('GET', '/admin/roles', undefined, token('root', { expiresIn: -1 }))).status).toBe(401);
    expect((await call('GET', '/admin/roles', undefined, token('alice'))).body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
    // Admin tokens stay out of URLs (and access logs); the answer says where the token goes.
    expect((await http(suite.server.httpUrl, 'GET', `/admin/roles?access_token=${root}`)).body).toEqual({
      statusCode: 401,
      code: 'UNAUTHORIZED',
      message: 'this route takes its token in the Authorization header only, not in the access_token query parameter',
    });
    // A token without its scheme is a common slip: said as such, not as a missing token.
    const schemeless = await fetch(`${suite.server.httpUrl}/admin/roles`, { headers: { Authorization: root } });
    expect(schemeless.status).toBe(401);
    expect(await schemeless.json()).toEqual({ statusCode: 401, code: 'UNAUTHORIZED', message: 'the Authorization header must be "Bearer <token>"' });
  });

  it('lists the permission catalogue', async () => {
    const { status, body } = await call('GET', '/admin/permissions');
    expect(status).toBe(200);
    expect(body.map((p: { key: string }) => p.key)).toEqual([
      'room.join',
      'message.send',
      'message.edit',
      'message.edit.any',
      'message.delete',
      'message.delete.any',
      'history.read',
      'presence.read',
      'admin.manage',
    ]);
    expect(body.find((p: { key: string }) => p.key === 'message.send')).toEqual({
      key: 'message.send',
      description: expect.any(String),
      events: ['message.send', 'typing'],
      routes: ['POST /rooms/:room/messages'],
    });
  });

  it('manages roles: seeded ones, create, read, update, delete, with 400, 404 and 409', async () => {
    const seeded = await call('GET', '/admin/roles');
    expect(seeded.body.map((r: { name: string }) => r.name)).toEqual(['admin', 'member', 'moderator', 'viewer']);
    expect(seeded.body.find((r: { name: string }) => r.name === 'viewer')).toEqual({
      name: 'viewer',
      description: expect.any(String),
      permissions: ['history.read', 'presence.read', 'room.join'],
      shared: true,
    });
    const catalogue = (await call('GET', '/admin/permissions')).body.map((p: { key: string }) => p.key);
    expect(seeded.body.find((r: { name: string }) => r.name === 'admin').permissions).toEqual([...catalogue].sort());

    const created = await call('POST', '/admin/roles', { name: 'auditor', description: 'Reads history', permissions: ['history.read', 'room.join'] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: 'auditor', description: 'Reads history', permissions: ['history.read', 'room.join'], shared: false });
    expect((await call('POST', '/admin/roles', { name: 'auditor', permissions: [] })).status).toBe(409);
    expect((await call('POST', '/admin/roles', { name: 'member', permissions: [] })).status).toBe(409);
    const unknown = await call('POST', '/admin/roles', { name: 'x', permissions: ['room.join', 'fly'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ code: 'BAD_REQUEST', details: [{ field: 'permissions', constraint: 'knownPermission', message: 'fly is not a permission' }] });
    expect((await call('POST', '/admin/roles', { name: 'x', permissions: ['*'] })).status).toBe(400);
    const invalid = await call('POST', '/admin/roles', { name: 'bad name', permissions: 'room.join' });
    expect(invalid.status).toBe(400);
    expect([...new Set(invalid.body.details.map((d: { field: string }) => d.field))].sort()).toEqual(['name', 'permissions']);
    expect(invalid.body.stack).toBeUndefined();

    expect((await call('GET', '/admin/roles/auditor')).body.permissions).toEqual(['history.read', 'room.join']);
    expect((await call('GET', '/admin/roles/nope')).status).toBe(404);
    const updated = await call('PATCH', '/admin/roles/auditor', { permissions: ['history.read'] });
    expect(updated.body).toMatchObject({ description: 'Reads history', permissions: ['history.read'] });
    expect((await call('PATCH', '/admin/roles/admin', { permissions: ['room.join'] })).status).toBe(409);
    expect((await call('PATCH', '/admin/roles/admin', { description: 'Runs the place' })).body.description).toBe('Runs the place');
    // Not renamed, and not silently ignored either: assignments name their role.
    const renamed = await call('PATCH', '/admin/roles/auditor', { name: 'reader', description: 'Reads' });
    expect(renamed.status).toBe(400);
    expect(renamed.body).toMatchObject({ code: 'BAD_REQUEST', details: [{ field: 'name', constraint: 'sameName' }] });
    expect((await call('GET', '/admin/roles/auditor')).body.description).toBe('Reads history');
    expect((await call('GET', '/admin/roles/reader')).status).toBe(404);
    expect((await call('PATCH', '/admin/roles/auditor', { name: 'auditor', description: 'Reads' })).body).toMatchObject({ name: 'auditor', description: 'Reads' });

    await call('PUT', '/admin/users/carl/roles/auditor');
    expect((await call('DELETE', '/admin/roles/auditor')).status).toBe(204);
    expect((await call('GET', '/admin/roles/auditor')).status).toBe(404);
    expect((await call('GET', '/admin/users/carl/roles')).body.assignments).toEqual([]);
    const deleteAdmin = await call('DELETE', '/admin/roles/admin');
    expect(deleteAdmin.status).toBe(409);
    expect(deleteAdmin.body.code).toBe('CONFLICT');
  });

  it('refuses a body that is not JSON instead of acting as if there were none', async () => {
    const send = async (method: string, path: string, body: string, contentType: string) => {
      const response = await fetch(`${suite.server.httpUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${root}`, 'Content-Type': contentType },
        body,
      });
      return [response.status, ((await response.json()) as { message: string }).message];
    };
    const scoped = JSON.stringify({ scope: 'support-*' });
    const notJson = [400, 'the body must be JSON, sent with Content-Type: application/json, not text/plain'];
    expect(await send('PUT', '/admin/users/quinn/roles/moderator', scoped, 'text/plain')).toEqual(notJson);
    expect(await send('DELETE', '/admin/users/quinn/roles/moderator', scoped, 'text/plain')).toEqual(notJson);
    expect(await send('PATCH', '/admin/roles/viewer', JSON.stringify({ description: 'x' }), 'text/plain')).toEqual(notJson);
    expect((await call('GET', '/admin/users/quinn/roles')).body.assignments).toEqual([]);
    expect(await send('PUT', '/admin/users/quinn/roles/moderator', scoped, 'application/merge-patch+json')).toEqual([
      400,
      'the body must be JSON, sent with Content-Type: application/json, not application/merge-patch+json',
    ]);
    const granted = await send('PUT', '/admin/users/quinn/roles/moderator', scoped, 'application/json');
    expect(granted[0]).toBe(201);
    expect((await call('GET', '/admin/users/quinn/roles')).body.assignments).toEqual([expect.objectContaining({ role: 'moderator', scope: 'support-*' })]);
  });

  it('refuses a JSON array as a body, and a query parameter given as a list, with 400 saying so', async () => {
    const bodyRefusal = 'the body must be a JSON object';
    for (const [method, path, body] of [
      ['POST', '/admin/roles', [{ name: 'listed', permissions: [] }]],
      ['PATCH', '/admin/roles/viewer', []],
      ['PUT', '/admin/users/rita/roles/moderator', [{ scope: 'support-*' }]],
      ['DELETE', '/admin/users/rita/roles/moderator', []],
      ['POST', '/admin/rooms', [{ name: 'listed' }]],
      ['PATCH', '/admin/rooms/listed', []],
      ['POST', '/admin/rooms/listed/messages', [{ text: 'in a list' }]],
    ] as const) {
      expect(await call(method, path, body)).toEqual({
        status: 400,
        body: { statusCode: 400, code: 'BAD_REQUEST', message: bodyRefusal, details: [{ field: 'body', constraint: 'isObject', message: bodyRefusal }] },
      });
    }
    expect((await call('GET', '/admin/roles/listed')).status).toBe(404);
    expect((await call('GET', '/admin/rooms/listed')).status).toBe(404);

    const refusal = (field: string) => {
      const message = `${field} must be given once, as a single value`;
      return { statusCode: 400, code: 'BAD_REQUEST', message, details: [{ field, constraint: 'singleValue', message }] };
    };
    expect((await call('PUT', '/admin/users/rita/roles/moderator', { scope: 'support-*' })).status).toBe(201);
    expect((await call('PUT', '/admin/users/rita/roles/moderator', { scope: 'sales-*' })).status).toBe(201);
    // Read as no scope at all, this revoked the role in every scope.
    expect(await call('DELETE', '/admin/users/rita/roles/moderator?scope[]=support-*')).toEqual({ status: 400, body: refusal('scope') });
    expect((await call('GET', '/admin/users/rita/roles')).body.assignments).toHaveLength(2);
    for (const [path, field] of [
      ['/admin/audit?limit[]=1', 'limit'],
      ['/admin/audit?actor[x]=root', 'actor'],
      ['/admin/rooms?after[]=a', 'after'],
      ['/admin/rooms?includeArchived[]=true', 'includeArchived'],
      ['/admin/rooms?limit=1&limit=2', 'limit'],
    ]) {
      expect(await call('GET', path)).toEqual({ status: 400, body: refusal(field) });
    }
  });

  it('refuses user ids no token could carry: the reserved system sender, control characters', async () => {
    for (const [path, message] of [
      ['/admin/users/system/roles/admin', 'the user id system is reserved for server-side publishes'],
      ['/admin/users/a%00b/roles/admin', 'userId must be 1 to 255 characters without control characters'],
      ['/admin/users/a%C2%9Bb/roles/admin', 'userId must be 1 to 255 characters without control characters'],
      [`/admin/users/${'u'.repeat(256)}/roles/admin`, 'userId must be 1 to 255 characters without control characters'],
    ]) {
      expect(await call('PUT', path)).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST', message, details: [expect.objectContaining({ field: 'userId' })] } });
    }
    expect((await call('GET', '/admin/users/system/roles')).status).toBe(400);
  });

  it('manages assignments, refusing unknown roles', async () => {
    const granted = await call('PUT', '/admin/users/dora/roles/moderator', { scope: 'help-*' });
    expect(granted.status).toBe(201);
    expect(granted.body).toEqual({ userId: 'dora', role: 'moderator', scope: 'help-*', grantedAt: expect.any(String) });
    expect((await call('PUT', '/admin/users/dora/roles/ghost')).status).toBe(404);
    expect((await call('GET', '/admin/users/dora/roles')).body).toEqual({
      userId: 'dora',
      assignments: [{ role: 'moderator', scope: 'help-*', grantedAt: granted.body.grantedAt }],
      defaultRole: null,
      bootstrapAdmin: false,
    });
  });

  it('manages rooms: create, list, update, archive (members removed, joins and sends refused, history kept), restore', async () => {
    const created = await call('POST', '/admin/rooms', { name: 'town-hall', title: 'Town hall' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: 'town-hall', title: 'Town hall', lastSeq: 0, archived: false, createdAt: expect.any(String), archivedAt: null });
    expect((await call('POST', '/admin/rooms', { name: 'town-hall' })).status).toBe(409);
    expect((await call('POST', '/admin/rooms', { name: 'bad room' })).status).toBe(400);

    const alice = await connect('alice');
    await alice.ok('room.join', { room: 'town-hall' });
    await alice.ok('message.send', { room: 'town-hall', text: 'before', clientMsgId: 'h1' });
    expect((await call('PATCH', '/admin/rooms/town-hall', { title: 'Great hall' })).body).toMatchObject({ title: 'Great hall', lastSeq: 1 });

    const archived = await call('DELETE', '/admin/rooms/town-hall');
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ archived: true, archivedAt: expect.any(String) });
    expect((await alice.nextPush('room.removed', 'town-hall')).data).toEqual({ room: 'town-hall', reason: 'archived' });
    expect((await alice.error('room.join', { room: 'town-hall' })).code).toBe('NOT_FOUND');
    expect((await alice.error('message.send', { room: 'town-hall', text: 'x', clientMsgId: 'h2' })).code).toBe('NOT_FOUND');
    expect((await alice.ok('history.fetch', { room: 'town-hall' })).messages).toHaveLength(1);
    expect((await call('GET', '/admin/rooms')).body.rooms.map((r: { name: string }) => r.name)).not.toContain('town-hall');
    expect((await call('GET', '/admin/rooms?includeArchived=true')).body.rooms.map((r: { name: string }) => r.name)).toContain('town-hall');
    // Archiving again, or a change to what the room already is: 200, the room as it is, nothing audited.
    const again = await call('DELETE', '/admin/rooms/town-hall');
    expect([again.status, again.body]).toEqual([200, archived.body]);
    for (const body of [{}, { archived: true }, { title: 'Great hall' }]) {
      expect(await call('PATCH', '/admin/rooms/town-hall', body)).toMatchObject({ status: 200, body: archived.body });
    }
    const audited = await call('GET', '/admin/audit?limit=100');
    const archives = audited.body.entries.filter((e: { action: string; target: string }) => e.target === 'room:town-hall' && e.action !== 'room.create');
    expect(archives.map((e: { action: string }) => e.action)).toEqual(['room.archive', 'room.update']);

    expect((await call('PATCH', '/admin/rooms/town-hall', { archived: false })).body.archived).toBe(false);
    expect((await alice.ok('message.send', { room: 'town-hall', text: 'after', clientMsgId: 'h3' })).seq).toBe(2);
    expect((await call('PATCH', '/admin/rooms/nowhere', { title: 'x' })).status).toBe(404);
    expect((await call('GET', '/admin/rooms?limit=0')).status).toBe(400);
    expect((await call('GET', '/admin/rooms?limit=abc')).status).toBe(400);

    for (const name of ['page-a', 'page-b', 'page-c']) await call('POST', '/admin/rooms', { name });
    const first = await call('GET', '/admin/rooms?limit=2&after=page-');
    expect(first.body).toMatchObject({ rooms: [{ name: 'page-a' }, { name: 'page-b' }], hasMore: true });
  });

  it('publishes as the system sender, idempotently, and moderates messages', async () => {
    const bob = await connect('bob');
    await bob.ok('room.join', { room: 'alerts' });
    const published = await call('POST', '/admin/rooms/alerts/messages', { text: 'maintenance at 5', payload: { level: 'warn' }, clientMsgId: 'maint-1' });
    expect(published.status).toBe(201);
    expect(published.body).toEqual({ room: 'alerts', seq: 1, messageId: expect.any(String), sentAt: expect.any(String), duplicate: false });
    const again = await call('POST', '/admin/rooms/alerts/messages', { text: 'maintenance at 5', clientMsgId: 'maint-1' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...published.body, duplicate: true });
    expect((await bob.nextPush('message', 'alerts')).data).toMatchObject({
      seq: 1,
      sender: { id: 'system', name: 'System' },
      text: 'maintenance at 5',
      payload: { level: 'warn' },
    });
    expect((await call('POST', '/admin/rooms/alerts/messages', {})).status).toBe(400);

    const { seq } = await bob.ok('message.send', { room: 'alerts', text: 'spam', clientMsgId: 's' });
    const moderated = await call('DELETE', `/admin/rooms/alerts/messages/${seq}`);
    expect(moderated.body).toEqual({ room: 'alerts', seq });
    expect((await bob.nextPush('message.deleted', 'alerts')).data).toEqual({ room: 'alerts', seq });
    expect((await call('DELETE', '/admin/rooms/alerts/messages/99')).status).toBe(404);
    for (const notDecimal of ['abc', '01', '1e1', '0x1']) {
      expect((await call('DELETE', `/admin/rooms/alerts/messages/${notDecimal}`)).body).toMatchObject({ statusCode: 400, message: 'seq must be a positive integer' });
    }
  });

  it('answers concurrent creations of one name with one 201 and 409s, and concurrent grants with one assignment', async () => {
    const statuses = async (method: string, path: string, body: unknown) =>
      (await Promise.all(Array.from({ length: 6 }, () => call(method, path, body)))).map((r) => r.status).sort();
    expect(await statuses('POST', '/admin/rooms', { name: 'contested' })).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await statuses('POST', '/admin/roles', { name: 'contested', permissions: ['room.join'] })).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await statuses('PUT', '/admin/users/zoe/roles/contested', undefined)).toEqual([200, 200, 200, 200, 200, 201]);
    expect((await call('GET', '/admin/users/zoe/roles')).body.assignments).toEqual([{ role: 'contested', scope: '*', grantedAt: expect.any(String) }]);
    const audit = await call('GET', '/admin/audit?limit=100');
    const actions = audit.body.entries.filter((e: { target: string }) => /contested|zoe/.test(e.target)).map((e: { action: string }) => e.action);
    expect(actions.sort()).toEqual(['assignment.grant', 'role.create', 'room.create']);
  });

  it('answers changes racing each other on one role without failing: first edits of a shared role, an edit or a grant against a delete', async () => {
    const acme = token('root', { tid: 'race' });
    const edits = await Promise.all(Array.from({ length: 6 }, (_, i) => call('PATCH', '/admin/roles/viewer', { description: `edit ${i}` }, acme)));
    expect(edits.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect((await call('GET', '/admin/roles/viewer', undefined, acme)).body).toMatchObject({ shared: false, description: expect.stringMatching(/^edit \d$/) });

    for (let i = 0; i < 10; i++) {
      const role = `racing-${i}`;
      expect((await call('POST', '/admin/roles', { name: role, permissions: ['room.join'] })).status).toBe(201);
      const [deleted, edited] = await Promise.all([call('DELETE', `/admin/roles/${role}`), call('PATCH', `/admin/roles/${role}`, { permissions: ['history.read'] })]);
      expect([deleted.status, [200, 404].includes(edited.status)]).toEqual([204, true]);

      expect((await call('POST', '/admin/roles', { name: role, permissions: ['room.join'] })).status).toBe(201);
      const [granted, deletedAgain] = await Promise.all([call('PUT', `/admin/users/racer-${i}/roles/${role}`), call('DELETE', `/admin/roles/${role}`)]);
      expect([[201, 404].includes(granted.status), deletedAgain.status]).toEqual([true, 204]);
      // Granted first, the delete took the assignment with it; deleted first, the grant found no role.
      expect((await call('GET', `/admin/users/racer-${i}/roles`)).body).toMatchObject({ assignments: [], defaultRole: 'member' });
    }
  });

  it('archives a room once when it is archived several times at once, and leaves a role as it is on a PATCH that changes nothing', async () => {
    expect((await call('POST', '/admin/rooms', { name: 'archived-at-once' })).status).toBe(201);
    const archives = await Promise.all([1, 2, 3, 4].map(() => call('DELETE', '/admin/rooms/archived-at-once')));
    expect(new Set(archives.map((response) => response.body.archivedAt)).size).toBe(1);
    const entries = (await call('GET', '/admin/audit?action=room.archive&limit=500')).body.entries;
    expect(entries.filter((entry: { target: string }) => entry.target === 'room:archived-at-once')).toHaveLength(1);

    const tenant = token('root', { tid: 'unchanged' });
    for (const body of [{}, { description: (await call('GET', '/admin/roles/viewer', undefined, tenant)).body.description }]) {
      expect((await call('PATCH', '/admin/roles/viewer', body, tenant)).body).toMatchObject({ name: 'viewer', shared: true });
    }
    expect((await call('GET', '/admin/audit?action=role.update', undefined, tenant)).body.entries).toEqual([]);
  });

  it('refuses malformed paging and filters with 400 before they reach the database', async () => {
    for (const path of ['/admin/audit?before=3000000000', '/admin/audit?action=a%00b', '/admin/audit?actor=a%00b', '/admin/rooms?after=a%00b']) {
      expect((await call('GET', path)).body).toMatchObject({ statusCode: 400, code: 'BAD_REQUEST' });
    }
    expect((await call('GET', '/admin/audit?before=2147483647')).status).toBe(200);
  });

  it('does not coerce query values: a limit or before written otherwise than in plain decimal is 400, as on the fallback routes', async () => {
    for (const path of ['/admin/audit?limit=1e1', '/admin/audit?limit=0x5', '/admin/audit?limit=%205', '/admin/audit?limit=07', '/admin/audit?limit=5.0', '/admin/audit?before=1e3', '/admin/rooms?limit=0b11', '/admin/rooms?limit=']) {
      const { status, body } = await call('GET', path);
      expect([path, status, body.details]).toEqual([path, 400, [expect.objectContaining({ constraint: 'integer', message: expect.stringMatching(/must be an integer from 1 to/) })]]);
    }
    expect((await call('GET', '/admin/audit?limit=5&before=7')).status).toBe(200);
    expect((await call('GET', '/admin/rooms?limit=500')).status).toBe(200);
  });

  it('disconnects every socket of a user with 4003', async () => {
    const one = await connect('eve');
    const two = await connect('eve');
    const other = await connect('frank');
    expect((await call('POST', '/admin/users/eve/disconnect')).body).toEqual({ userId: 'eve' });
    expect((await one.closed).code).toBe(4003);
    expect((await two.closed).code).toBe(4003);
    expect((await other.request('ping')).event).toBe('pong');
  });

  it('records who changed what, when, newest first, with filters and paging', async () => {
    const { body } = await call('GET', '/admin/audit?limit=500');
    const actions = body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'role.create',
        'role.update',
        'role.delete',
        'assignment.grant',
        'room.create',
        'room.update',
        'room.archive',
        'room.restore',
        'message.publish',
        'message.delete',
        'user.disconnect',
      ]),
    );
    const disconnect = body.entries.find((e: { action: string }) => e.action === 'user.disconnect');
    expect(disconnect).toEqual({ id: expect.any(Number), actor: { id: 'root', tid: null }, action: 'user.disconnect', target: 'user:eve', details: {}, at: expect.any(String) });
    expect(new Date(disconnect.at).toISOString()).toBe(disconnect.at);
    const ids = body.entries.map((e: { id: number }) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const grants = await call('GET', '/admin/audit?action=assignment.grant');
    expect(grants.body.entries.every((e: { action: string }) => e.action === 'assignment.grant')).toBe(true);
    const page = await call('GET', `/admin/audit?limit=2&before=${ids[1]}`);
    expect(page.body.entries.map((e: { id: number }) => e.id)).toEqual(ids.slice(2, 4));
    expect(page.body.hasMore).toBe(true);
  });

  it('serves OpenAPI at /docs and health at /health/live and /health/ready', async () => {
    const document = await http(suite.server.httpUrl, 'GET', '/docs-json');
    expect(document.status).toBe(200);
    expect(Object.keys(document.body.paths)).toEqual(expect.arrayContaining(['/admin/roles', '/admin/users/{userId}/roles/{role}', '/admin/audit', '/health/ready']));
    expect((await fetch(`${suite.server.httpUrl}/docs`)).status).toBe(200);
    expect((await http(suite.server.httpUrl, 'GET', '/health/live')).body.status).toBe('ok');
    expect((await http(suite.server.httpUrl, 'GET', '/health/ready')).body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });
});

describe('admin REST API under its rate limit [sqlite]', () => {
  const suite = suiteServer('sqlite', { BOOTSTRAP_ADMINS: 'root,ops', ADMIN_RATE_LIMIT_PER_SECOND: '1', ADMIN_RATE_LIMIT_BURST: '3' });
  const url = () => suite.server.httpUrl;
  const as = (bearer: string, method: string, path: string, body?: unknown) => http(url(), method, path, { token: bearer, body });

  it("answers an admin's requests beyond the budget with 429 and Retry-After, after the token and before the permission, and leaves others alone", async () => {
    const root = token('root');
    const statuses = [];
    for (let n = 0; n < 4; n++) statuses.push((await as(root, 'PUT', `/admin/users/grantee-${n}/roles/viewer`)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const refused = await fetch(`${url()}/admin/roles`, { headers: { Authorization: `Bearer ${root}` } });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ statusCode: 429, code: 'RATE_LIMITED', message: 'too many requests; slow down' });
    // A second's worth of the rate (1/s) brings the next request back: less than a second is left.
    expect(refused.headers.get('retry-after')).toBe('1');

    // A bad token is still 401, not 429.
    expect((await as(token('root', { expiresIn: -1 }), 'GET', '/admin/roles')).status).toBe(401);
    // Another admin, the same admin in another tenant, and the admin's own fallback requests (a budget apart) are served.
    expect((await as(token('ops'), 'GET', '/admin/roles')).status).toBe(200);
    expect((await as(token('root', { tid: 'elsewhere' }), 'GET', '/admin/roles')).status).toBe(200);
    expect((await as(root, 'POST', '/rooms/lobby/messages', { text: 'still here', clientMsgId: 'r1' })).status).toBe(201);

    // The budget comes before the permission: a user without admin.manage is told 403, then 429 once over it.
    const alice = token('alice');
    const denied = [];
    for (let n = 0; n < 3; n++) denied.push((await as(alice, 'GET', '/admin/roles')).status);
    expect(denied).toEqual([403, 403, 403]);
    const aliceRefused = await fetch(`${url()}/admin/roles`, { headers: { Authorization: `Bearer ${alice}` } });
    expect([aliceRefused.status, aliceRefused.headers.get('retry-after')]).toEqual([429, '1']);

    // Waiting as told, from the refusal on, is enough: the next request is taken (and answered 403 again).
    await new Promise((resolve) => setTimeout(resolve, Number(aliceRefused.headers.get('retry-after')) * 1000));
    expect((await as(alice, 'GET', '/admin/roles')).status).toBe(403);
    // The refused grant was not made.
    expect((await as(token('ops'), 'GET', '/admin/users/grantee-3/roles')).body).toMatchObject({ assignments: [], defaultRole: 'member' });
  });
});
