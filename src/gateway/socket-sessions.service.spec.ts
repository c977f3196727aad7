import { jest } from '@jest/globals';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { Authenticator } from '../auth/authenticator.service.js';
import type { ConnectionRegistry } from '../delivery/connection-registry.service.js';
import { Connection } from '../delivery/connection.js';
import type { DeliveryService } from '../delivery/delivery.service.js';
import type { Transport } from '../delivery/transport.js';
import type { HostEvents } from '../events/host-events.service.js';
import { ErrorCode, RealtimeError } from '../protocol/error-codes.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import type { HandshakeService } from './handshake.service.js';
import { SocketSessionsService } from './socket-sessions.service.js';

const NOW = Math.floor(Date.now() / 1000);
const ALICE: AuthenticatedUser = { id: 'alice', name: 'Alice', tenantId: '', expiresAt: NOW + 3600 };

const openTransport: Transport = {
  isOpen: true,
  bufferedAmount: 0,
  send: () => {},
  close: () => {},
  terminate: () => {},
  ping: () => {},
  attach: () => {},
  onClose: () => {},
};

/**
 * Tokens are the user they stand for; each verification waits until the test
 * lets it finish, as a host's UserResolver that looks users up may.
 */
function setup() {
  const pending = new Map<string, { user: AuthenticatedUser; finish: () => void }>();
  const authenticator = {
    authenticate: (token: string) => {
      const entry = pending.get(token);
      if (!entry) return Promise.reject(RealtimeError.unauthorized('the token has expired'));
      return new Promise<AuthenticatedUser>((resolve) => (entry.finish = () => resolve(entry.user)));
    },
  } as unknown as Authenticator;
  const options = { auth: { clockToleranceSeconds: 0 } } as ResolvedRealtimeOptions;
  const sessions = new SocketSessionsService(
    {} as HandshakeService,
    authenticator,
    {} as ConnectionRegistry,
    {} as DeliveryService,
    { emit: () => {} } as unknown as HostEvents,
    options,
  );
  const connection = new Connection('c1', openTransport, { ...ALICE }, 1 << 20);
  // The deadline is recorded, not armed: no timer outlives the test.
  const deadlines = jest.spyOn(connection, 'closeAtTokenExpiry').mockImplementation(() => {});
  const token = (expiresAt: number, name = 'Alice') => {
    const token = `token-${pending.size}`;
    pending.set(token, { user: { ...ALICE, name, expiresAt }, finish: () => {} });
    return { token, finish: () => pending.get(token)!.finish() };
  };
  const deadline = () => deadlines.mock.calls.at(-1)?.[0];
  return { sessions, connection, token, deadline };
}

describe('SocketSessionsService.refresh', () => {
  it("makes the new token's exp the socket's deadline, earlier than the old one as well as later", async () => {
    const { sessions, connection, token, deadline } = setup();
    const later = token(NOW + 7200);
    const refreshed = sessions.refresh(connection, later.token, 1);
    later.finish();
    expect(await refreshed).toEqual({ exp: NOW + 7200 });
    expect(deadline()).toBe(NOW + 7200);

    const earlier = token(NOW + 60, 'Alice (reduced)');
    const shortened = sessions.refresh(connection, earlier.token, 2);
    earlier.finish();
    expect(await shortened).toEqual({ exp: NOW + 60 });
    expect(deadline()).toBe(NOW + 60);
    expect(connection.user).toEqual({ ...ALICE, name: 'Alice (reduced)', expiresAt: NOW + 60 });
  });

  it('refuses an expired token with UNAUTHORIZED and keeps the deadline', async () => {
    const { sessions, connection, deadline } = setup();
    await expect(sessions.refresh(connection, 'expired', 1)).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED, message: 'the token has expired' });
    expect(deadline()).toBeUndefined();
    expect(connection.user).toEqual(ALICE);
  });

  it('keeps the token of the refresh sent last when an earlier one is verified after it, and answers both with that deadline', async () => {
    const { sessions, connection, token, deadline } = setup();
    const first = token(NOW + 7200);
    const second = token(NOW + 600, 'Alice (second)');
    const firstReply = sessions.refresh(connection, first.token, 1);
    const secondReply = sessions.refresh(connection, second.token, 2);
    second.finish();
    expect(await secondReply).toEqual({ exp: NOW + 600 });
    first.finish();
    expect(await firstReply).toEqual({ exp: NOW + 600 });
    expect(deadline()).toBe(NOW + 600);
    expect(connection.user).toEqual({ ...ALICE, name: 'Alice (second)', expiresAt: NOW + 600 });
  });

  it('schedules nothing for a socket that closed while its token was checked', async () => {
    const { sessions, connection, token, deadline } = setup();
    const later = token(NOW + 7200);
    const refreshed = sessions.refresh(connection, later.token, 1);
    connection.ended = true;
    later.finish();
    await expect(refreshed).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE });
    expect(deadline()).toBeUndefined();
  });
});
