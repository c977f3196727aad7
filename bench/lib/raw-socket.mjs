import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { connect } from 'node:net';

/**
 * The load generator's WebSocket client: the handshake, masked frames out,
 * and frames in parsed straight from the bytes Node reads into one buffer
 * shared by every socket (net's `onread`), with no stream, no per-read
 * Buffer and no event per frame beyond the handler's call.
 *
 * With `ws` as the client the generator, not the servers, was the ramp's
 * limit; its receive path (a Writable stream per socket, a Buffer per read
 * and per frame, an event per frame) came on top of the kernel's, which is
 * most of what remains. This client costs about 15% less per delivery at
 * 50,000 deliveries/s. Every server is measured with it.
 *
 * Enough of RFC 6455 for the benchmark's servers: text frames (fragmented or
 * not), pings answered with pongs, close frames ending the socket; no
 * extensions offered.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function openRawSocket(address, { localAddress, handshakeTimeout = 10_000 } = {}) {
  const url = new URL(address);
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    let onMessage = () => undefined;
    let handshake = '';
    let open = false;
    let carry = null;
    let fragments = null;
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      localAddress,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (length, buffer) => (open ? frames(buffer, length) : upgrade(buffer, length)) },
    });
    const timer = setTimeout(() => fail(new Error('handshake timed out')), handshakeTimeout);
    const fail = (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', fail);
    socket.once('close', () => open || fail(new Error('closed before the upgrade')));
    socket.once('connect', () =>
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );

    function upgrade(buffer, length) {
      handshake += buffer.toString('latin1', 0, length);
      const end = handshake.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = handshake.slice(0, end);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const accept = /^sec-websocket-accept:\s*(\S+)/im.exec(head)?.[1];
      if (status !== 101) return fail(new Error(`upgrade refused: ${status}`));
      if (accept !== createHash('sha1').update(key + GUID).digest('base64')) return fail(new Error('bad Sec-WebSocket-Accept'));
      clearTimeout(timer);
      open = true;
      socket.removeListener('error', fail);
      // Errors after the upgrade end the socket (a server stopping resets them all); the fleet owns its sockets' fate.
      socket.on('error', () => undefined);
      resolve({
        on: (event, handler) => {
          if (event === 'message') onMessage = handler;
        },
        send: (text) => socket.write(maskedFrame(OPCODE.text, Buffer.from(text))),
        terminate: () => socket.destroy(),
      });
      const rest = Buffer.from(handshake.slice(end + 4), 'latin1');
      handshake = '';
      if (rest.length > 0) frames(rest, rest.length);
    }

    function frames(buffer, length) {
      let data = buffer;
      let end = length;
      if (carry) {
        data = Buffer.concat([carry, buffer.subarray(0, length)]);
        end = data.length;
        carry = null;
      }
      let at = 0;
      while (end - at >= 2) {
        const first = data[at];
        let size = data[at + 1] & 0x7f;
        let header = 2;
        if (size === 126) {
          if (end - at < 4) break;
          size = data.readUInt16BE(at + 2);
          header = 4;
        } else if (size === 127) {
          if (end - at < 10) break;
          size = Number(data.readBigUInt64BE(at + 2));
          header = 10;
        }
        if (end - at < header + size) break;
        const from = at + header;
        at = from + size;
        const opcode = first & 0x0f;
        const fin = (first & 0x80) !== 0;
        if (opcode === OPCODE.ping) socket.write(maskedFrame(OPCODE.pong, data.subarray(from, at)));
        else if (opcode === OPCODE.close) socket.end();
        else if (opcode === OPCODE.text || opcode === OPCODE.binary || opcode === OPCODE.continuation) {
          if (fin && fragments === null) onMessage(data.toString('utf8', from, at));
          else {
            (fragments ??= []).push(Buffer.from(data.subarray(from, at)));
            if (fin) {
              const whole = Buffer.concat(fragments).toString('utf8');
              fragments = null;
              onMessage(whole);
            }
          }
        }
      }
      // The read buffer is shared: a partial frame is copied out until the rest arrives.
      if (at < end) carry = Buffer.from(data.subarray(at, end));
    }
  });
}

/** A client frame: masked with a fresh key, as servers require of clients. */
function maskedFrame(opcode, payload) {
  const size = payload.length;
  const header = size < 126 ? 2 : size < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + 4 + size);
  frame[0] = 0x80 | opcode;
  if (header === 2) frame[1] = 0x80 | size;
  else if (header === 4) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(size, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(size), 2);
  }
  const mask = frame.subarray(header, header + 4);
  randomFillSync(mask);
  for (let i = 0; i < size; i++) frame[header + 4 + i] = payload[i] ^ mask[i & 3];
  return frame;
}
