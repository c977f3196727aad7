import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';

/**
 * The write path of every frame the server sends, shaped by the benchmark
 * (bench/README.md):
 *
 * - A server frame is unmasked, so its bytes are the same for every
 *   recipient: a room push is framed once and the same Buffer is written to
 *   each member (`ws` would encode the string and build a header per member).
 * - The frames a socket gets in one event-loop turn (the acks and pushes of
 *   one group commit, a burst from the broker) are kept here and leave in
 *   one system call when the turn ends. Not with `socket.cork()`: frames
 *   waiting in a corked stream's own buffer survived the young-generation
 *   collections in a chain, which made each of them copy megabytes and
 *   pause the server for 10 to 20 ms (bench/README.md).
 *
 * Frames are written to the socket `ws` itself writes to, and `ws` writes
 * synchronously when per-message compression is off (it is, see
 * RealtimeWsAdapter): whatever `ws` is asked to write (a ping, a close
 * frame) must come after `flushFrames`, so that frames keep their order.
 * That includes the close frames `ws` writes by itself, in the middle of a
 * read (see RealtimeWebSocket in transport.ts).
 */

const OPCODE_TEXT = 0x81; // FIN + text
const logger = new Logger('RealtimeDelivery');

let lastText: string | undefined;
let lastFrame: Buffer | undefined;

/** The wire bytes of a text frame; the last one is kept, as a fan-out sends the same string to every member in a row. */
export function encodeTextFrame(text: string): Buffer {
  if (text === lastText && lastFrame) return lastFrame;
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = OPCODE_TEXT;
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, header);
  lastText = text;
  lastFrame = frame;
  return frame;
}

/** Past this many bytes a socket's waiting frames are written at once rather than at the end of the turn. */
const FLUSH_BYTES = 65_536;

/** Where frames are written: a TCP socket under a WebSocket (see WebSocketTransport). */
export interface FrameSink {
  readonly tcp: Socket;
  /** False once a close frame was sent or received: no data frame may follow it. */
  readonly isOpen: boolean;
  /**
   * This turn's frames, kept here by writeFrame: one Buffer (the common
   * case), or, for several, the index of the first in `turnFrames`.
   */
  waitingFrames: Buffer | number | undefined;
}

/** The sinks with waiting frames; a new array each turn. */
let waitingSinks: FrameSink[] = [];

/*
 * Several frames for one socket in one turn, without an object per socket or
 * per frame: the frames of the turn in one array, each socket's chained by
 * index (`nextOf`), with the chain's last index and byte count kept at its
 * first. At the flush they are copied side by side into the turn's buffer
 * and leave in one write. Lists per socket, and the stream's entry per frame
 * of a corked write, outlived the scavenges of a join storm (every member
 * gets every join's presence push) and stayed in the old generation.
 */
const turnFrames: Buffer[] = [];
let nextOf = new Int32Array(256);
let lastOf = new Int32Array(256);
let bytesOf = new Int32Array(256);

/**
 * Rewound and reused from turn to turn while each write of it went to the
 * kernel at once (the stream keeps nothing of it). Once a write of it had to
 * wait, the stream holds part of it: it is only appended to until full, then
 * left to the stream and replaced.
 */
const TURN_BUFFER_BYTES = 65_536;
let turnBuffer: Buffer | undefined;
let turnBufferUsed = 0;
let turnBufferHeld = false;

function flushAll(): void {
  const sinks = waitingSinks;
  waitingSinks = [];
  for (const sink of sinks) flushFrames(sink);
  // Unless a write made during the flush started a new turn's frames.
  if (waitingSinks.length === 0) {
    turnFrames.length = 0;
    if (!turnBufferHeld) turnBufferUsed = 0;
  }
}

/** Writes a frame, with the socket's other frames of this turn. */
export function writeFrame(sink: FrameSink, text: string): void {
  const frame = encodeTextFrame(text);
  const waiting = sink.waitingFrames;
  if (waiting === undefined) {
    sink.waitingFrames = frame;
    if (waitingSinks.push(sink) === 1) setImmediate(flushAll);
  } else if (typeof waiting !== 'number') {
    const first = addTurnFrame(waiting);
    lastOf[first] = first;
    bytesOf[first] = waiting.length;
    chain(first, addTurnFrame(frame));
    sink.waitingFrames = first;
  } else chain(waiting, addTurnFrame(frame));
  if (waitingBytes(sink) >= FLUSH_BYTES) flushFrames(sink);
}

function addTurnFrame(frame: Buffer): number {
  const index = turnFrames.push(frame) - 1;
  if (index === nextOf.length) {
    nextOf = grown(nextOf);
    lastOf = grown(lastOf);
    bytesOf = grown(bytesOf);
  }
  nextOf[index] = -1;
  return index;
}

function chain(first: number, index: number): void {
  nextOf[lastOf[first]] = index;
  lastOf[first] = index;
  bytesOf[first] += turnFrames[index].length;
}

function grown(array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const larger = new Int32Array(array.length * 2);
  larger.set(array);
  return larger;
}

/** Writes the waiting frames now (before `ws` writes to the socket, or past FLUSH_BYTES). */
export function flushFrames(sink: FrameSink): void {
  const waiting = sink.waitingFrames;
  if (waiting === undefined) return;
  sink.waitingFrames = undefined;
  const socket = sink.tcp;
  // After a close frame `ws` wrote by itself (a client's close echoed, a protocol error), nothing more;
  // an ended socket would only raise an error.
  if (!sink.isOpen || socket.destroyed || socket.writableEnded) return;
  try {
    writeWaiting(socket, waiting);
  } catch (error) {
    // One socket's failure ends that socket (its close handling follows), not the server, a fan-out or the turn's flush.
    logger.error(`a socket's write failed; the socket is closed: ${(error as Error).message}`, (error as Error).stack);
    socket.destroy(error as Error);
  }
}

/** The waiting frames in one write: as they are, or gathered from the turn's frames. */
function writeWaiting(socket: Socket, waiting: Buffer | number): void {
  if (typeof waiting !== 'number') {
    socket.write(waiting);
    return;
  }
  // A socket already backed up keeps what it is given until it drains: a copy of its own, of the size it needs.
  if (socket.writableLength > 0 || socket.writableCorked > 0 || socket.connecting) {
    socket.write(copyChain(waiting, Buffer.allocUnsafe(bytesOf[waiting]), 0));
    return;
  }
  socket.write(gathered(waiting));
  // Still in the stream or the kernel's queue: part of the turn's buffer is theirs now.
  if (socket.writableLength > 0) turnBufferHeld = true;
}

/** A chain of frames side by side in the turn's buffer. */
function gathered(first: number): Buffer {
  const bytes = bytesOf[first];
  if (!turnBuffer || turnBufferUsed + bytes > turnBuffer.length) {
    turnBuffer = Buffer.allocUnsafeSlow(Math.max(TURN_BUFFER_BYTES, bytes));
    turnBufferUsed = 0;
    turnBufferHeld = false;
  }
  const chunk = copyChain(first, turnBuffer, turnBufferUsed);
  turnBufferUsed += chunk.length;
  return chunk;
}

/** Copies a chain of frames into `target` from `offset`; returns the part of `target` they fill. */
function copyChain(first: number, target: Buffer, offset: number): Buffer {
  let end = offset;
  for (let index = first; index !== -1; index = nextOf[index]) end += turnFrames[index].copy(target, end);
  return target.subarray(offset, end);
}

/** Bytes written to the socket and not yet taken by the network, this turn's waiting frames included. */
export function unsentBytes(sink: FrameSink): number {
  return sink.tcp.writableLength + waitingBytes(sink);
}

function waitingBytes({ waitingFrames }: FrameSink): number {
  return waitingFrames === undefined ? 0 : typeof waitingFrames === 'number' ? bytesOf[waitingFrames] : waitingFrames.length;
}
