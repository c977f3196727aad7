import type { Socket } from 'node:net';

/**
 * The write path of every frame the server sends, shaped by the benchmark
 * (bench/README.md):
 *
 * - A server frame is unmasked, so its bytes are the same for every
 *   recipient: a room push is framed once and the same Buffer is written to
 *   each member (`ws` would encode the string and build a header per member).
 * - Each socket is corked for the rest of the event-loop turn, so that the
 *   frames it gets in one turn (the acks and pushes of one group commit, a
 *   burst from the broker) leave in one system call.
 *
 * Frames are written to the socket `ws` itself writes to, and `ws` writes
 * synchronously when per-message compression is off (it is, see
 * RealtimeWsAdapter), so frames from both keep their order.
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

/**
 * Past this many unsent bytes a corked socket is flushed at once: a writev is
 * only counted as written when all of it is, so one huge writev would look
 * like a slow consumer's backlog (checked after each frame) while most of it
 * already sits in the kernel.
 */
const FLUSH_BYTES = 65_536;

const corked: Socket[] = [];
let uncorkScheduled = false;

function uncorkAll(): void {
  uncorkScheduled = false;
  // uncork() may run write callbacks that cork sockets again: take the list first.
  for (const socket of corked.splice(0)) socket.uncork();
}

/** Writes a frame, coalescing it with the socket's other frames of this turn. */
export function writeFrame(socket: Socket, text: string): void {
  if (!socket.writableCorked) {
    socket.cork();
    corked.push(socket);
    if (!uncorkScheduled) {
      uncorkScheduled = true;
      setImmediate(uncorkAll);
    }
  }
  socket.write(encodeTextFrame(text));
  if (socket.writableLength >= FLUSH_BYTES) {
    socket.uncork();
    socket.cork();
  }
}
