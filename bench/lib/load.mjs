import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

/**
 * The load generator: opens sockets, joins rooms, has publishers send at an
 * offered rate, and measures end-to-end latency from a timestamp in each
 * message. `protocol` adapts it to the server under test:
 *   - 'switchboard': the Switchboard protocol (token in the query, acked sends),
 *   - 'plain': {event, data} frames of the plain ws baseline,
 *   - 'socketio': the Socket.IO protocol (engine.io v4 over a WebSocket).
 */
export async function runLoad(options) {
  const {
    urls,
    protocol = 'switchboard',
    token = () => '',
    sockets,
    rooms,
    publishers,
    rate,
    durationMs,
    warmupMs = 1000,
    bodyBytes = 64,
    connectConcurrency = 200,
    /** Called when the measured window opens and closes (to read the server's CPU time then). */
    onWindow = () => undefined,
  } = options;
  const adapter = ADAPTERS[protocol];
  const latencies = [];
  let measuring = false;
  let received = 0;
  let receivedWhileMeasuring = 0;
  const members = new Map();

  // Receivers: socket i joins room i % rooms.
  const receivers = [];
  for (let start = 0; start < sockets; start += connectConcurrency) {
    const batch = [];
    for (let i = start; i < Math.min(sockets, start + connectConcurrency); i++) {
      batch.push(
        adapter.open(urls[i % urls.length], token(`user-${i}`)).then(async (socket) => {
          const room = `room-${i % rooms}`;
          members.set(room, (members.get(room) ?? 0) + 1);
          socket.onMessage((sentAt) => {
            received++;
            if (!measuring) return;
            receivedWhileMeasuring++;
            latencies.push(performance.timeOrigin + performance.now() - sentAt);
          });
          await socket.join(room);
          receivers.push(socket);
        }),
      );
    }
    await Promise.all(batch);
  }

  const senders = await Promise.all(Array.from({ length: publishers }, (_, p) => adapter.open(urls[p % urls.length], token(`publisher-${p}`))));
  const pad = 'x'.repeat(Math.max(0, bodyBytes - 30));
  // Idempotency keys unique to this run: a database reused between runs must not see resends.
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  let sent = 0;
  let sentWhileMeasuring = 0;
  let expectedWhileMeasuring = 0;
  let acked = 0;
  const perTick = rate / 100;
  let carry = 0;
  const started = performance.now();
  let measureStart = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      if (!measuring && elapsed >= warmupMs) {
        measuring = true;
        measureStart = performance.now();
        onWindow('open');
      }
      if (elapsed >= warmupMs + durationMs) {
        clearInterval(timer);
        onWindow('close');
        return resolve();
      }
      carry += perTick;
      for (; carry >= 1; carry--) {
        const room = `room-${sent % rooms}`;
        const sender = senders[sent % senders.length];
        sender.publish(room, performance.timeOrigin + performance.now(), pad, `${run}-${sent}`).then(() => acked++, () => undefined);
        sent++;
        if (measuring) {
          sentWhileMeasuring++;
          expectedWhileMeasuring += members.get(room) ?? 0;
        }
      }
    }, 10);
  });
  measuring = false;
  const measuredMs = performance.now() - measureStart;
  // Let the last messages arrive.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  for (const socket of [...receivers, ...senders]) socket.close();
  latencies.sort((a, b) => a - b);
  const at = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : NaN);
  return {
    sockets: receivers.length,
    sent,
    acked,
    offeredRate: rate,
    deliveriesPerSecond: (receivedWhileMeasuring / measuredMs) * 1000,
    expectedDeliveries: expectedWhileMeasuring,
    measuredDeliveries: receivedWhileMeasuring,
    lost: Math.max(0, expectedWhileMeasuring - receivedWhileMeasuring),
    latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: latencies.at(-1) ?? NaN },
    measuredMs,
    totalReceived: received,
  };
}

/** Opens `count` sockets that authenticate and join one room each, and keeps them open. */
export async function openIdle({ urls, protocol = 'switchboard', token = () => '', count, rooms = 100, connectConcurrency = 200, offset = 0 }) {
  const adapter = ADAPTERS[protocol];
  const opened = [];
  const started = performance.now();
  for (let start = 0; start < count; start += connectConcurrency) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + connectConcurrency); i++) {
      const n = offset + i;
      batch.push(adapter.open(urls[n % urls.length], token(`idle-${n}`)).then(async (socket) => {
        await socket.join(`room-${n % rooms}`);
        opened.push(socket);
      }));
    }
    await Promise.all(batch);
  }
  return { sockets: opened, elapsedMs: performance.now() - started, close: () => opened.forEach((socket) => socket.close()) };
}

function openSocket(url, options) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, ...options });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
  });
}

const timestampOf = (frame) => {
  // The timestamp sits at a known place; parsing only it keeps the generator's cost low.
  const at = frame.indexOf('"t":');
  return at < 0 ? NaN : parseFloat(frame.slice(at + 4, frame.indexOf(',', at)));
};

const ADAPTERS = {
  switchboard: {
    async open(url, token) {
      const socket = await openSocket(`${url}?access_token=${token}`);
      let requests = 0;
      const pending = new Map();
      let onPush = () => undefined;
      socket.on('message', (raw) => {
        const frame = raw.toString();
        if (frame.startsWith('{"event":"message","data"')) return onPush(timestampOf(frame));
        const id = /"id":"(r\d+)"/.exec(frame)?.[1];
        if (id && pending.has(id)) {
          pending.get(id)(frame);
          pending.delete(id);
        }
      });
      const request = (event, data) =>
        new Promise((resolve, reject) => {
          const id = `r${++requests}`;
          pending.set(id, (frame) => (frame.startsWith('{"event":"error"') ? reject(new Error(frame)) : resolve(frame)));
          socket.send(JSON.stringify({ event, id, data }));
        });
      return {
        onMessage: (handler) => (onPush = handler),
        join: (room) => request('room.join', { room }),
        publish: (room, t, pad, clientMsgId) => request('message.send', { room, payload: { t, pad }, clientMsgId }),
        close: () => socket.terminate(),
      };
    },
  },
  plain: {
    async open(url) {
      const socket = await openSocket(url);
      let onPush = () => undefined;
      socket.on('message', (raw) => onPush(timestampOf(raw.toString())));
      return {
        onMessage: (handler) => (onPush = handler),
        join: async (room) => socket.send(JSON.stringify({ event: 'join', data: { room } })),
        publish: async (room, t, pad) => socket.send(JSON.stringify({ event: 'publish', data: { room, payload: { t, pad } } })),
        close: () => socket.terminate(),
      };
    },
  },
  socketio: {
    async open(url) {
      // engine.io v4: open packet "0{...}", then the Socket.IO connect "40".
      const socket = await openSocket(`${url}?EIO=4&transport=websocket`);
      let onPush = () => undefined;
      let acks = 0;
      const pending = new Map();
      const connected = new Promise((resolve) => {
        socket.on('message', (raw) => {
          const frame = raw.toString();
          if (frame === '2') return socket.send('3');
          if (frame.startsWith('40')) return resolve();
          if (frame.startsWith('42["message"')) return onPush(timestampOf(frame));
          const ack = /^43(\d+)/.exec(frame);
          if (ack && pending.has(ack[1])) {
            pending.get(ack[1])();
            pending.delete(ack[1]);
          }
        });
      });
      socket.send('40');
      await connected;
      const emit = (event, data) =>
        new Promise((resolve) => {
          const id = String(++acks);
          pending.set(id, resolve);
          socket.send(`42${id}${JSON.stringify([event, data])}`);
        });
      return {
        onMessage: (handler) => (onPush = handler),
        join: (room) => emit('join', { room }),
        publish: (room, t, pad) => emit('publish', { room, payload: { t, pad } }),
        close: () => socket.terminate(),
      };
    },
  },
};
