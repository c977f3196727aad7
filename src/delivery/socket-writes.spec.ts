import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import * as ws from 'ws';
import { encodeTextFrame, writeFrame } from './socket-writes.js';

// ws exports its frame parser, which its type definitions leave out.
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => EventEmitter & { write(chunk: Buffer): void };
};

/** Decodes frames with the ws library's own receiver (as a client would). */
function decode(bytes: Buffer): string[] {
  const texts: string[] = [];
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  receiver.on('message', (data: Buffer, isBinary: boolean) => texts.push(`${isBinary ? 'binary:' : ''}${data.toString()}`));
  receiver.on('error', (error: Error) => texts.push(`error: ${error.message}`));
  receiver.write(bytes);
  return texts;
}

describe('encodeTextFrame', () => {
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 200_000])('frames %i bytes the way clients decode them', (length) => {
    const text = 'a'.repeat(length);
    expect(decode(encodeTextFrame(text))).toEqual([text]);
  });

  it('counts bytes, not characters', () => {
    const text = `${'é'.repeat(70)}😀${'\u0000'.repeat(3)}`;
    expect(decode(encodeTextFrame(text))).toEqual([text]);
  });

  it('returns the same bytes for the same text in a row, new ones for another', () => {
    const first = encodeTextFrame('{"event":"message"}');
    expect(encodeTextFrame('{"event":"message"}')).toBe(first);
    expect(encodeTextFrame('{"event":"other"}')).not.toBe(first);
  });
});

describe('writeFrame', () => {
  /** A stand-in for net.Socket that records what reaches the wire, and when. */
  class RecordingSocket extends EventEmitter {
    corks = 0;
    flushes: Buffer[][] = [];
    private pending: Buffer[] = [];
    get writableCorked(): number {
      return this.corks;
    }
    cork(): void {
      this.corks++;
    }
    uncork(): void {
      if (this.corks > 0 && --this.corks === 0 && this.pending.length > 0) this.flushes.push(this.pending.splice(0));
    }
    write(chunk: Buffer): boolean {
      this.pending.push(chunk);
      if (this.corks === 0) this.flushes.push(this.pending.splice(0));
      return true;
    }
  }

  const target = (socket: RecordingSocket) => socket as unknown as Socket;

  it('sends the frames of one turn in one flush per socket, in order', async () => {
    const a = new RecordingSocket();
    const b = new RecordingSocket();
    const targetA = target(a);
    writeFrame(targetA, 'one');
    writeFrame(target(b), 'one');
    writeFrame(targetA, 'two');
    expect(a.flushes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.flushes.map((flush) => flush.flatMap((chunk) => decode(chunk)))).toEqual([['one', 'two']]);
    expect(b.flushes).toHaveLength(1);
    writeFrame(targetA, 'three');
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.flushes).toHaveLength(2);
  });
});
