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

const WAITING = Symbol('realtime.waitingFrames');

/** Several frames for one socket in one turn, in order. */
interface WaitingFrames {
  frames: Buffer[];
  bytes: number;
}

/** A socket with the frames it got this turn: one Buffer (the common case), or several. */
type WritableSocket = Socket & { [WAITING]?: Buffer | WaitingFrames };

/** The sockets with waiting frames; a new array each turn. */
let waitingSockets: WritableSocket[] = [];

function flushAll(): void {
  const sockets = waitingSockets;
  waitingSockets = [];
  for (const socket of sockets) flushFrames(socket);
}

/** Writes a frame, with the socket's other frames of this turn. */
export function writeFrame(socket: Socket, text: string): void {
  const target = socket as WritableSocket;
  const frame = encodeTextFrame(text);
  const waiting = target[WAITING];
  if (waiting === undefined) {
    target[WAITING] = frame;
    if (waitingSockets.push(target) === 1) setImmediate(flushAll);
  } else if (Buffer.isBuffer(waiting)) {
    target[WAITING] = { frames: [waiting, frame], bytes: waiting.length + frame.length };
  } else {
    waiting.frames.push(frame);
    waiting.bytes += frame.length;
  }
  if (waitingBytes(target) >= FLUSH_BYTES) flushFrames(socket);
}

/** Writes the socket's waiting frames now (before `ws` writes to it, or past FLUSH_BYTES). */
export function flushFrames(socket: Socket): void {
  const target = socket as WritableSocket;
  const waiting = target[WAITING];
  if (waiting === undefined) return;
  target[WAITING] = undefined;
  // A socket that ended meanwhile takes nothing (the write would only raise an error).
  if (socket.destroyed || socket.writableEnded) return;
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
export function unsentBytes(socket: Socket): number {
  return socket.writableLength + waitingBytes(socket);
}

function waitingBytes(socket: WritableSocket): number {
  const waiting = socket[WAITING];
  return waiting === undefined ? 0 : Buffer.isBuffer(waiting) ? waiting.length : waiting.bytes;
}
