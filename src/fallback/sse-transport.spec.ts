import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Connection } from '../delivery/connection.js';
import { SseTransport, toSseEvent } from './sse-transport.js';

/** The part of an HTTP response the transport uses, recording what was written. */
class FakeResponse extends EventEmitter {
  status: number | undefined;
  headers: Record<string, string> | undefined;
  written: string[] = [];
  ended = false;
  destroyed = false;
  writableLength = 0;
  private readonly callbacks: Array<(error?: Error) => void> = [];

  writeHead(status: number, headers: Record<string, string>): void {
    this.status = status;
    this.headers = headers;
  }
  write(chunk: string, callback?: (error?: Error) => void): boolean {
    this.written.push(chunk);
    if (callback) this.callbacks.push(callback);
    return true;
  }
  end(chunk: string): void {
    this.written.push(chunk);
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  /** The network took everything written so far. */
  flush(): void {
    for (const callback of this.callbacks.splice(0)) callback();
  }
}

function setup() {
  const response = new FakeResponse();
  const transport = new SseTransport(response as unknown as ServerResponse);
  const closes: number[] = [];
  const pongs: number[] = [];
  transport.onClose(() => closes.push(1));
  transport.attach({ pongReceived: () => pongs.push(1) } as unknown as Connection);
  return { response, transport, closes, pongs };
}

const frame = (event: string, data: object) => JSON.stringify({ event, data });

describe('toSseEvent', () => {
  it('names the event, gives the seq as id when there is one, and the data on one line', () => {
    expect(toSseEvent(frame('message', { seq: 7, text: 'two\nlines' }), 7)).toBe('event: message\nid: 7\ndata: {"seq":7,"text":"two\\nlines"}\n\n');
    expect(toSseEvent(frame('message.deleted', { room: 'r', seq: 3 }))).toBe('event: message.deleted\ndata: {"room":"r","seq":3}\n\n');
  });

  it('converts the same frame again with another id', () => {
    const push = frame('message', { seq: 1 });
    expect(toSseEvent(push, 1)).toBe('event: message\nid: 1\ndata: {"seq":1}\n\n');
    expect(toSseEvent(push)).toBe('event: message\ndata: {"seq":1}\n\n');
  });
});

describe('SseTransport', () => {
  it('writes nothing before start, then the headers and an opening comment', () => {
    const { response, transport } = setup();
    expect(transport.isOpen).toBe(true);
    expect(response.status).toBeUndefined();
    expect(transport.start()).toBe(true);
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform' });
    expect(response.written).toEqual([': stream of room events; ids are message seqs\n\n']);
    expect(transport.start()).toBe(true);
    expect(response.written).toHaveLength(1);
  });

  it('sends frames as events, starting the stream if it was not yet', () => {
    const { response, transport } = setup();
    transport.send(frame('room.removed', { room: 'r', reason: 'archived' }));
    expect(response.status).toBe(200);
    transport.send(frame('message', { seq: 2 }), 2);
    expect(response.written.slice(1)).toEqual([
      'event: room.removed\ndata: {"room":"r","reason":"archived"}\n\n',
      'event: message\nid: 2\ndata: {"seq":2}\n\n',
    ]);
  });

  it('ends an open stream with a close event carrying the code and reason, then drops frames', () => {
    const { response, transport, closes } = setup();
    transport.start();
    transport.close(1012, 'server restarting');
    expect(transport.isOpen).toBe(false);
    expect(response.ended).toBe(true);
    expect(response.written.at(-1)).toBe('event: close\ndata: {"code":1012,"reason":"server restarting"}\n\n');
    transport.send(frame('message', { seq: 3 }), 3);
    transport.close(1000, 'again');
    expect(response.written).toHaveLength(2);
    expect(closes).toEqual([]);
    response.emit('close');
    response.emit('close');
    expect(closes).toEqual([1]);
  });

  it('closes a stream that has not started without writing, so that its request can still be answered', async () => {
    const { response, transport, closes } = setup();
    transport.close(1000, 'refused');
    expect(transport.isOpen).toBe(false);
    expect(transport.start()).toBe(false);
    expect(response.status).toBeUndefined();
    expect(response.written).toEqual([]);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(closes).toEqual([1]);
  });

  it('counts a heartbeat that reached the network as a pong', () => {
    const { response, transport, pongs } = setup();
    transport.ping();
    expect(pongs).toEqual([1]);
    transport.start();
    transport.ping();
    expect(response.written.at(-1)).toBe(': heartbeat\n\n');
    expect(pongs).toEqual([1]);
    response.flush();
    expect(pongs).toEqual([1, 1]);
  });

  it('reports the bytes the response still holds', () => {
    const { response, transport } = setup();
    response.writableLength = 4096;
    expect(transport.bufferedAmount).toBe(4096);
  });

  it('terminates by destroying the response', () => {
    const { response, transport, closes } = setup();
    transport.start();
    transport.terminate();
    expect(response.destroyed).toBe(true);
    expect(transport.isOpen).toBe(false);
    expect(closes).toEqual([1]);
  });
});
