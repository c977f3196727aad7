import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import * as ws from 'ws';
import { encodeTextFrame, flushFrames, unsentBytes, writeFrame, type FrameSink } from './socket-writes.js';

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
  /** A stand-in for net.Socket that records what reaches the wire, and in how many system calls. */
  class RecordingSocket extends EventEmitter {
    destroyed = false;
    writableEnded = false;
    writableLength = 0;
    writableCorked = 0;
    connecting = false;
    /** Set: the kernel takes only this many bytes of each write, and the stream keeps the rest (the Buffer itself). */
    takes: number | undefined;
    flushes: Buffer[][] = [];
    /** What the transport is to writeFrame; `isOpen` turns false when a close frame went out. */
    readonly sink: { tcp: Socket; isOpen: boolean; waitingFrames: FrameSink['waitingFrames'] } = {
      tcp: this as unknown as Socket,
      isOpen: true,
      waitingFrames: undefined,
    };
    private corks = 0;
    private pending: Buffer[] = [];
    cork(): void {
      this.corks++;
    }
    uncork(): void {
      if (this.corks > 0 && --this.corks === 0 && this.pending.length > 0) this.flushes.push(this.pending.splice(0));
    }
    /** Set: each write throws it. */
    failure: Error | undefined;
    destroyedWith: Error | undefined;
    destroy(error?: Error): void {
      this.destroyed = true;
      this.destroyedWith = error;
    }
    write(chunk: Buffer): boolean {
      if (this.failure) throw this.failure;
      if (this.destroyed) throw new Error('write after destroy');
      // As a real socket: the kernel copies what it takes at once; a backed-up stream keeps the Buffer itself.
      const kept = this.writableLength > 0 || (this.takes !== undefined && this.takes < chunk.length);
      if (this.takes !== undefined) this.writableLength += Math.max(0, chunk.length - this.takes);
      this.pending.push(kept ? chunk : Buffer.from(chunk));
      if (this.corks === 0) this.flushes.push(this.pending.splice(0));
      return true;
    }
    /** The texts of each flush. */
    get texts(): string[][] {
      return this.flushes.map((flush) => flush.flatMap((chunk) => decode(chunk)));
    }
  }

  const target = (socket: RecordingSocket): FrameSink => socket.sink;
  const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('sends the frames of one turn in one flush per socket, in order, when the turn ends', async () => {
    const a = new RecordingSocket();
    const b = new RecordingSocket();
    writeFrame(target(a), 'one');
    writeFrame(target(b), 'one');
    writeFrame(target(a), 'two');
    writeFrame(target(a), 'three');
    expect(a.flushes).toEqual([]);
    expect(unsentBytes(target(a))).toBe(encodeTextFrame('one').length + encodeTextFrame('two').length + encodeTextFrame('three').length);
    await endOfTurn();
    expect(a.texts).toEqual([['one', 'two', 'three']]);
    expect(b.texts).toEqual([['one']]);
    expect(unsentBytes(target(a))).toBe(0);
    writeFrame(target(a), 'four');
    await endOfTurn();
    expect(a.texts).toEqual([['one', 'two', 'three'], ['four']]);
  });

  it('never reuses the bytes of a write the stream still holds', async () => {
    const backedUp = new RecordingSocket();
    backedUp.writableLength = 100_000;
    const other = new RecordingSocket();
    writeFrame(target(backedUp), 'kept one');
    writeFrame(target(backedUp), 'kept two');
    await endOfTurn();
    writeFrame(target(other), 'next one');
    writeFrame(target(other), 'next two');
    writeFrame(target(other), 'next three');
    await endOfTurn();
    expect(backedUp.texts).toEqual([['kept one', 'kept two']]);
    expect(other.texts).toEqual([['next one', 'next two', 'next three']]);
  });

  it('never reuses the bytes of a write the kernel took only part of', async () => {
    const partial = new RecordingSocket();
    partial.takes = 4;
    const other = new RecordingSocket();
    writeFrame(target(partial), 'partly sent one');
    writeFrame(target(partial), 'partly sent two');
    await endOfTurn();
    for (let turn = 0; turn < 3; turn++) {
      writeFrame(target(other), `turn ${turn} one`);
      writeFrame(target(other), `turn ${turn} two`);
      await endOfTurn();
    }
    expect(partial.texts).toEqual([['partly sent one', 'partly sent two']]);
    expect(other.texts).toEqual([0, 1, 2].map((turn) => [`turn ${turn} one`, `turn ${turn} two`]));
  });

  it('keeps the order of each socket when many sockets interleave many frames in one turn', async () => {
    const sockets = [new RecordingSocket(), new RecordingSocket(), new RecordingSocket()];
    for (let i = 0; i < 400; i++) writeFrame(target(sockets[i % 3]), `frame ${i}`);
    await endOfTurn();
    sockets.forEach((socket, s) => {
      expect(socket.texts).toEqual([Array.from({ length: 400 }, (_, i) => i).filter((i) => i % 3 === s).map((i) => `frame ${i}`)]);
    });
  });

  it('writes waiting frames at once when asked, and not again at the end of the turn', async () => {
    const socket = new RecordingSocket();
    writeFrame(target(socket), 'before the close');
    flushFrames(target(socket));
    expect(socket.texts).toEqual([['before the close']]);
    await endOfTurn();
    expect(socket.texts).toEqual([['before the close']]);
  });

  it('writes at once past 64 KiB waiting, so that the kernel takes what it can', async () => {
    const socket = new RecordingSocket();
    const big = 'b'.repeat(40_000);
    writeFrame(target(socket), 'small');
    writeFrame(target(socket), big);
    expect(socket.flushes).toEqual([]);
    writeFrame(target(socket), big);
    expect(socket.texts).toEqual([['small', big, big]]);
    writeFrame(target(socket), 'c'.repeat(70_000));
    expect(socket.flushes).toHaveLength(2);
    await endOfTurn();
    expect(socket.flushes).toHaveLength(2);
  });

  it('drops the frames of a socket that was destroyed before the turn ended', async () => {
    const gone = new RecordingSocket();
    const open = new RecordingSocket();
    writeFrame(target(gone), 'lost with the socket');
    writeFrame(target(open), 'delivered');
    gone.destroyed = true;
    await endOfTurn();
    expect(gone.flushes).toEqual([]);
    expect(open.texts).toEqual([['delivered']]);
  });

  it('ends a socket whose write throws, and still writes the frames of the others, this turn and the next', async () => {
    const [before, failing, after] = [new RecordingSocket(), new RecordingSocket(), new RecordingSocket()];
    failing.failure = new Error('the socket refused the write');
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    for (const socket of [before, failing, after]) {
      writeFrame(target(socket), 'one');
      writeFrame(target(socket), 'two');
    }
    await endOfTurn();
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('the socket refused the write'), expect.any(String));
    logged.mockRestore();
    expect(failing.destroyedWith).toBe(failing.failure);
    expect(before.texts).toEqual([['one', 'two']]);
    expect(after.texts).toEqual([['one', 'two']]);
    writeFrame(target(before), 'three');
    writeFrame(target(before), 'four');
    writeFrame(target(after), 'three');
    await endOfTurn();
    expect(before.texts).toEqual([['one', 'two'], ['three', 'four']]);
    expect(after.texts).toEqual([['one', 'two'], ['three']]);
  });

  it('ends a socket whose write throws when its frames are written at once, without throwing to the writer', () => {
    const failing = new RecordingSocket();
    failing.failure = new Error('the socket refused the write');
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    writeFrame(target(failing), 'a'.repeat(40_000));
    expect(() => writeFrame(target(failing), 'b'.repeat(40_000))).not.toThrow();
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('the socket refused the write'), expect.any(String));
    logged.mockRestore();
    expect(failing.destroyedWith).toBe(failing.failure);
    expect(unsentBytes(target(failing))).toBe(0);
  });

  it('drops the frames of a socket whose close frame went first (ws closing a socket that is not a RealtimeWebSocket)', async () => {
    const closing = new RecordingSocket();
    writeFrame(target(closing), 'too late');
    closing.sink.isOpen = false;
    await endOfTurn();
    flushFrames(target(closing));
    expect(closing.flushes).toEqual([]);
  });
});
