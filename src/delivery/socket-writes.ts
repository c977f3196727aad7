import type { Socket } from 'node:net';

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
 */

const OPCODE_TEXT = 0x81; // FIN + text

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

/** Several frames for one socket in one turn, in order. */
interface WaitingFrames {
  frames: Buffer[];
  bytes: number;
}

/** Where frames are written: a TCP socket under a WebSocket (see WebSocketTransport). */
export interface FrameSink {
  readonly tcp: Socket;
  /** False once a close frame was sent or received: no data frame may follow it. */
  readonly isOpen: boolean;
  /** This turn's frames, kept here by writeFrame: one Buffer (the common case), or several. */
  waitingFrames: Buffer | WaitingFrames | undefined;
}

/** The sinks with waiting frames; a new array each turn. */
let waitingSinks: FrameSink[] = [];

function flushAll(): void {
  const sinks = waitingSinks;
  waitingSinks = [];
  for (const sink of sinks) flushFrames(sink);
}

/** Writes a frame, with the socket's other frames of this turn. */
export function writeFrame(sink: FrameSink, text: string): void {
  const frame = encodeTextFrame(text);
  const waiting = sink.waitingFrames;
  if (waiting === undefined) {
    sink.waitingFrames = frame;
    if (waitingSinks.push(sink) === 1) setImmediate(flushAll);
  } else if (Buffer.isBuffer(waiting)) {
    sink.waitingFrames = { frames: [waiting, frame], bytes: waiting.length + frame.length };
  } else {
    waiting.frames.push(frame);
    waiting.bytes += frame.length;
  }
  if (waitingBytes(sink) >= FLUSH_BYTES) flushFrames(sink);
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
  if (Buffer.isBuffer(waiting)) {
    socket.write(waiting);
    return;
  }
  // Corked only for these synchronous writes: one writev.
  socket.cork();
  for (const frame of waiting.frames) socket.write(frame);
  socket.uncork();
}

/** Bytes written to the socket and not yet taken by the network, this turn's waiting frames included. */
export function unsentBytes(sink: FrameSink): number {
  return sink.tcp.writableLength + waitingBytes(sink);
}

function waitingBytes({ waitingFrames }: FrameSink): number {
  return waitingFrames === undefined ? 0 : Buffer.isBuffer(waitingFrames) ? waitingFrames.length : waitingFrames.bytes;
}
