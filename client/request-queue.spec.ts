import { SwitchboardError } from './errors.js';
import { RequestQueue } from './request-queue.js';

interface Sent {
  event: string;
  id: string;
  data: Record<string, unknown>;
}

function queue(maxFrameBytes = 65_536, retryDelay = 10) {
  const sent: Sent[] = [];
  return { sent, requests: new RequestQueue((frame) => sent.push(JSON.parse(frame) as Sent), maxFrameBytes, () => retryDelay) };
}

const unavailable = { code: 'UNAVAILABLE', message: 'the server is restarting; this frame was not processed' };
const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('RequestQueue', () => {
  it('holds requests until a connection is ready, then sends them oldest first', () => {
    const { sent, requests } = queue();
    void requests.start('ping', () => ({}), 0);
    void requests.start('presence.list', () => ({ room: 'a' }), 0);
    expect(sent).toEqual([]);
    requests.connected(1);
    expect(sent.map((frame) => frame.event)).toEqual(['ping', 'presence.list']);
    expect(new Set(sent.map((frame) => frame.id)).size).toBe(2);
  });

  it('fails a connection-bound request when its connection closes instead of sending it on the next', async () => {
    const { sent, requests } = queue();
    requests.connected(1);
    const bound = requests.start('auth.refresh', () => ({ token: 'old' }), 0, { connectionBound: true });
    const other = requests.start('ping', () => ({}), 0);
    requests.disconnected();
    await expect(bound.reply).rejects.toMatchObject({ code: 'CLOSED', event: 'auth.refresh' });
    requests.connected(2);
    expect(sent.map((frame) => [frame.event, frame.id])).toEqual([
      ['auth.refresh', bound.id],
      ['ping', other.id],
      ['ping', other.id],
    ]);
  });

  it("tells the sender when a frame is no longer wanted: its request timed out, or went out again on another connection", async () => {
    const wanted: Array<() => boolean> = [];
    const requests = new RequestQueue((_frame, isWanted) => wanted.push(isWanted), 65_536, () => 10);
    requests.connected(1);
    const timed = requests.start('ping', () => ({}), 20);
    void requests.start('presence.list', () => ({ room: 'a' }), 0);
    expect(wanted.map((w) => w())).toEqual([true, true]);
    await expect(timed.reply).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(wanted.map((w) => w())).toEqual([false, true]);
    requests.disconnected();
    requests.connected(2);
    expect(wanted.map((w) => w())).toEqual([false, false, true]);
  });

  it('resolves a request with the data of the reply that carries its id', async () => {
    const { sent, requests } = queue();
    requests.connected(1);
    const { id, reply } = requests.start('room.join', () => ({ room: 'a' }), 0);
    expect(sent[0]).toEqual({ event: 'room.join', id, data: { room: 'a' } });
    expect(requests.settle({ event: 'room.join', id, data: { room: 'a', lastSeq: 3 } })).toBe(true);
    await expect(reply).resolves.toEqual({ room: 'a', lastSeq: 3 });
    expect(requests.settle({ event: 'room.join', id, data: {} })).toBe(false);
  });

  it('rejects with the contract code, message and details of an error frame', async () => {
    const { requests } = queue();
    requests.connected(1);
    const { id, reply } = requests.start('message.send', () => ({ room: 'a', text: '', clientMsgId: 'c' }), 0);
    const details = [{ field: 'text', constraint: 'text', message: 'text must be a string of 1 to 4000 characters without NUL' }];
    requests.settle({ event: 'error', id, data: { code: 'BAD_REQUEST', message: 'text must be…', event: 'message.send', details } });
    const error = (await reply.catch((e: unknown) => e)) as SwitchboardError;
    expect(error).toBeInstanceOf(SwitchboardError);
    expect({ code: error.code, message: error.message, event: error.event, details: error.details }).toEqual({
      code: 'BAD_REQUEST',
      message: 'text must be…',
      event: 'message.send',
      details,
    });
  });

  it('sends a request again, with the same id and freshly built data, on the connection after the one that lost it', () => {
    const { sent, requests } = queue();
    let since = 4;
    requests.connected(1);
    const { id } = requests.start('room.join', () => ({ room: 'a', since }), 0);
    requests.disconnected();
    since = 9;
    requests.connected(2);
    expect(sent).toEqual([
      { event: 'room.join', id, data: { room: 'a', since: 4 } },
      { event: 'room.join', id, data: { room: 'a', since: 9 } },
    ]);
    // Once per connection: connecting the same one again sends nothing twice.
    requests.connected(2);
    expect(sent).toHaveLength(2);
  });

  it('fails a request with TIMEOUT when no reply comes within its timeout, and forgets it', async () => {
    const { requests } = queue();
    const { id, reply } = requests.start('ping', () => ({}), 20);
    await expect(reply).rejects.toMatchObject({ code: 'TIMEOUT', event: 'ping' });
    expect(requests.isPending(id)).toBe(false);
  });

  it('sends a request answered UNAVAILABLE again after the retry delay, and resolves with the reply that follows', async () => {
    const { sent, requests } = queue();
    requests.connected(1);
    const { id, reply } = requests.start('message.send', () => ({ room: 'a', text: 'hi', clientMsgId: 'c1' }), 0);
    expect(requests.settle({ event: 'error', id, data: unavailable })).toBe(true);
    await until(() => sent.length === 2);
    expect(sent[1]).toEqual(sent[0]);
    requests.settle({ event: 'message.send', id, data: { room: 'a', seq: 1, messageId: 'm', sentAt: 'now', duplicate: true } });
    await expect(reply).resolves.toMatchObject({ seq: 1, duplicate: true });
  });

  it('rejects with UNAVAILABLE when the timeout leaves no time to try again', async () => {
    const { sent, requests } = queue(65_536, 60_000);
    requests.connected(1);
    const { id, reply } = requests.start('history.fetch', () => ({ room: 'a' }), 5000);
    requests.settle({ event: 'error', id, data: unavailable });
    await expect(reply).rejects.toMatchObject({ code: 'UNAVAILABLE', event: 'history.fetch' });
    expect(sent).toHaveLength(1);
  });

  it('refuses a frame over the size limit instead of sending it', async () => {
    const { sent, requests } = queue(1000);
    requests.connected(1);
    const { reply } = requests.start('message.send', () => ({ room: 'a', text: 'é'.repeat(600), clientMsgId: 'c' }), 0);
    await expect(reply).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(sent).toEqual([]);
  });

  it('fails everything still waiting at once', async () => {
    const { requests } = queue();
    const replies = [requests.start('ping', () => ({}), 0).reply, requests.start('ping', () => ({}), 0).reply];
    requests.failAll(new SwitchboardError('CLOSED', 'closed'));
    await expect(Promise.all(replies.map((r) => r.catch((e: SwitchboardError) => e.code)))).resolves.toEqual(['CLOSED', 'CLOSED']);
  });
});
