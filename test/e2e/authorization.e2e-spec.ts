import { describeEachDatabase } from '../support/databases.js';
import { http } from '../support/http.js';
import { suiteServer } from '../support/suite-server.js';
import { token, type TokenOptions } from '../support/tokens.js';

describeEachDatabase('authorization', (kind) => {
  // Users without any assignment are viewers here: they may read but not write.
  const suite = suiteServer(kind, { DEFAULT_ROLE: 'viewer' });
  const connect = (sub: string, options: TokenOptions = {}) => suite.connect(sub, options);
  const root = token('root');
  const admin = (method: string, path: string, body?: unknown, as = root) => http(suite.server.httpUrl, method, path, { token: as, body });

  it('gives users without assignment the default role', async () => {
    const visitor = await connect('visitor');
    expect((await visitor.ok('room.join', { room: 'town' })).room).toBe('town');
    const refused = await visitor.error('message.send', { room: 'town', text: 'hi', clientMsgId: 'v1' });
    expect(refused.code).toBe('FORBIDDEN');
    expect(refused.message).toContain('message.send');
    expect(refused.event).toBe('message.send');
    expect((await visitor.error('typing', { room: 'town' })).code).toBe('FORBIDDEN');
    expect((await admin('GET', '/admin/users/visitor/roles')).body).toEqual({
      userId: 'visitor',
      assignments: [],
      defaultRole: 'viewer',
      bootstrapAdmin: false,
    });
  });

  it('applies a revoke through the admin API to the very next frame, without reconnecting', async () => {
    expect((await admin('PUT', '/admin/users/bob/roles/member')).status).toBe(201);
    expect((await admin('PUT', '/admin/users/bob/roles/member')).status).toBe(200);
    const bob = await connect('bob');
    expect((await bob.ok('message.send', { room: 'ops', text: 'allowed', clientMsgId: 'b1' })).seq).toBe(1);

    const revoked = await admin('DELETE', '/admin/users/bob/roles/member');
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked).toEqual([expect.objectContaining({ role: 'member', scope: '*' })]);
    // No assignment left: bob falls back to the default role (viewer).
    expect((await bob.error('message.send', { room: 'ops', text: 'refused', clientMsgId: 'b2' })).code).toBe('FORBIDDEN');
    expect((await admin('DELETE', '/admin/users/bob/roles/member')).status).toBe(404);

    await admin('PUT', '/admin/users/bob/roles/member');
    expect((await bob.ok('message.send', { room: 'ops', text: 'allowed again', clientMsgId: 'b3' })).seq).toBe(2);
  });

  it('scopes roles to a room, a prefix, or everywhere', async () => {
    await admin('PUT', '/admin/users/agent/roles/member', { scope: 'support-*' });
    await admin('PUT', '/admin/users/agent/roles/member', { scope: 'handover' });
    const agent = await connect('agent');
    expect((await agent.ok('message.send', { room: 'support-42', text: 'hi', clientMsgId: 'a1' })).seq).toBe(1);
    expect((await agent.ok('message.send', { room: 'handover', text: 'hi', clientMsgId: 'a2' })).seq).toBe(1);
    // The agent has assignments, so the default role does not apply anywhere else.
    expect((await agent.error('room.join', { room: 'general' })).code).toBe('FORBIDDEN');
    expect((await agent.error('message.send', { room: 'supportx', text: 'hi', clientMsgId: 'a3' })).code).toBe('FORBIDDEN');
    expect((await agent.error('message.send', { room: 'handover-2', text: 'hi', clientMsgId: 'a4' })).code).toBe('FORBIDDEN');
    // Room-scoped roles never grant tenant-wide permissions such as admin.manage.
    await admin('PUT', '/admin/users/agent/roles/admin', { scope: 'support-*' });
    expect((await admin('GET', '/admin/roles', undefined, token('agent'))).status).toBe(403);
    expect((await admin('PUT', '/admin/users/agent/roles/admin', { scope: 'bad scope' })).status).toBe(400);
    expect((await admin('DELETE', '/admin/users/agent/roles/member?scope=handover')).body.revoked).toEqual([
      expect.objectContaining({ scope: 'handover' }),
    ]);
    expect((await agent.error('message.send', { room: 'handover', text: 'x', clientMsgId: 'a5' })).code).toBe('FORBIDDEN');
    expect((await admin('GET', '/admin/users/agent/roles')).body.assignments.map((a: { role: string; scope: string }) => `${a.role}@${a.scope}`)).toEqual([
      'admin@support-*',
      'member@support-*',
    ]);
  });

  it('takes a socket out of a room the moment it loses room.join there', async () => {
    await admin('PUT', '/admin/users/reader/roles/viewer', { scope: 'news' });
    const reader = await connect('reader');
    const writer = await connect('root');
    await reader.ok('room.join', { room: 'news' });
    await writer.ok('message.send', { room: 'news', text: 'first', clientMsgId: 'n1' });
    await reader.nextPush('message', 'news');

    await admin('DELETE', '/admin/users/reader/roles/viewer');
    await admin('PUT', '/admin/users/reader/roles/viewer', { scope: 'sports' });
    expect((await reader.nextPush('room.removed', 'news')).data).toEqual({ room: 'news', reason: 'forbidden' });
    await writer.ok('message.send', { room: 'news', text: 'second', clientMsgId: 'n2' });
    await reader.settle();
    expect(reader.pushes('message', 'news').map((f) => f.data.text)).toEqual(['first']);
    expect((await reader.error('room.join', { room: 'news' })).code).toBe('FORBIDDEN');
  });

  it('applies a role edit to live sockets of every holder', async () => {
    expect((await admin('POST', '/admin/roles', { name: 'announcer', permissions: ['room.join', 'message.send'] })).status).toBe(201);
    await admin('PUT', '/admin/users/ann/roles/announcer');
    const ann = await connect('ann');
    expect((await ann.ok('message.send', { room: 'announcements', text: 'v1', clientMsgId: 'x1' })).seq).toBe(1);
    expect((await ann.error('history.fetch', { room: 'announcements' })).code).toBe('FORBIDDEN');
    expect((await admin('PATCH', '/admin/roles/announcer', { permissions: ['room.join', 'history.read'] })).status).toBe(200);
    expect((await ann.error('message.send', { room: 'announcements', text: 'v2', clientMsgId: 'x2' })).code).toBe('FORBIDDEN');
    expect((await ann.ok('history.fetch', { room: 'announcements' })).messages).toHaveLength(1);
  });

  it('keeps tenants apart: rooms, messages, presence, history, roles and admin actions', async () => {
    await admin('PUT', '/admin/users/amy/roles/member', undefined, token('root', { tid: 'acme' }));
    await admin('PUT', '/admin/users/gus/roles/member', undefined, token('root', { tid: 'globex' }));
    const amy = await connect('amy', { tid: 'acme' });
    const gus = await connect('gus', { tid: 'globex' });
    await amy.ok('room.join', { room: 'general' });
    await gus.ok('room.join', { room: 'general' });
    expect((await amy.ok('message.send', { room: 'general', text: 'acme only', clientMsgId: 't1' })).seq).toBe(1);
    expect((await gus.ok('message.send', { room: 'general', text: 'globex only', clientMsgId: 't1' })).seq).toBe(1);
    expect((await amy.nextPush('message', 'general')).data.text).toBe('acme only');
    expect((await gus.nextPush('message', 'general')).data.text).toBe('globex only');
    await amy.settle();
    expect(amy.pushes('message')).toHaveLength(1);
    expect(amy.pushes('presence.join')).toHaveLength(0);
    expect((await amy.ok('presence.list', { room: 'general' })).users).toEqual([{ id: 'amy', name: 'amy' }]);
    expect((await gus.ok('history.fetch', { room: 'general' })).messages.map((m: { text: string }) => m.text)).toEqual(['globex only']);

    // A tenant admin acts only within the tenant.
    await admin('PUT', '/admin/users/acme-admin/roles/admin', undefined, token('root', { tid: 'acme' }));
    const acmeAdmin = token('acme-admin', { tid: 'acme' });
    expect((await admin('GET', '/admin/users/amy/roles', undefined, acmeAdmin)).body.assignments).toHaveLength(1);
    expect((await admin('GET', '/admin/users/gus/roles', undefined, acmeAdmin)).body.assignments).toHaveLength(0);
    expect((await admin('GET', '/admin/roles', undefined, token('acme-admin', { tid: 'globex' }))).status).toBe(403);
    expect((await admin('GET', '/admin/roles', undefined, token('acme-admin'))).status).toBe(403);

    // Changing a shared role in one tenant gives that tenant its own copy.
    const patched = await admin('PATCH', '/admin/roles/member', { permissions: ['room.join', 'history.read'] }, acmeAdmin);
    expect(patched.body).toMatchObject({ name: 'member', shared: false, permissions: ['history.read', 'room.join'] });
    expect((await amy.error('message.send', { room: 'general', text: 'x', clientMsgId: 't2' })).code).toBe('FORBIDDEN');
    expect((await gus.ok('message.send', { room: 'general', text: 'still fine', clientMsgId: 't2' })).seq).toBe(2);
    const globexMember = (await admin('GET', '/admin/roles/member', undefined, token('root', { tid: 'globex' }))).body;
    expect(globexMember.shared).toBe(true);
    expect(globexMember.permissions).toContain('message.send');
    expect((await admin('DELETE', '/admin/roles/viewer', undefined, acmeAdmin)).status).toBe(409);
    // Deleting the tenant's copy falls back to the shared role.
    expect((await admin('DELETE', '/admin/roles/member', undefined, acmeAdmin)).status).toBe(204);
    expect((await amy.ok('message.send', { room: 'general', text: 'back', clientMsgId: 't3' })).seq).toBe(2);

    const audit = await admin('GET', '/admin/audit', undefined, acmeAdmin);
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(['role.delete', 'role.update', 'assignment.grant', 'assignment.grant']);
    expect(audit.body.entries.every((e: { actor: { tid: string } }) => e.actor.tid === 'acme')).toBe(true);
  });

  it('gives BOOTSTRAP_ADMINS every permission in any tenant, and nobody else', async () => {
    for (const tid of [undefined, 'initech']) {
      const rootClient = await connect('root', { tid });
      expect((await rootClient.ok('message.send', { room: 'anywhere', text: 'root', clientMsgId: `r-${tid}` })).seq).toBe(1);
      expect((await admin('GET', '/admin/permissions', undefined, token('root', { tid }))).status).toBe(200);
    }
    expect((await admin('GET', '/admin/users/root/roles')).body.bootstrapAdmin).toBe(true);
    expect((await admin('GET', '/admin/permissions', undefined, token('someone'))).status).toBe(403);
  });
});
