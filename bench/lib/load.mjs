import { performance } from 'node:perf_hooks';
import { openRawSocket } from './raw-socket.mjs';

/**
 * The load generator: opens sockets, joins rooms, has publishers send at an
 * offered rate, and measures end-to-end latency from a timestamp in each
 * message. `protocol` adapts it to the server under test:
 *   - 'switchboard': the Switchboard protocol (token in the query, acked sends),
 *   - 'plain': {event, data} frames of the plain ws baseline,
 *   - 'socketio': the Socket.IO protocol (engine.io v4 over a WebSocket).
 */
export async function runLoad(options) {
  const fleet = await openFleet(options);
  try {
    return await fleet.measure(options);
  } finally {
    fleet.close();
  }
}

/**
 * Latencies in a typed array that doubles when full: pushing hundreds of
 * thousands of numbers into a plain array, and sorting it with a comparator,
 * paused the load generator (it holds both ends of every measurement) for
 * 50 to 270 ms at the windows' ends, and its growth fed the collector during
 * the windows.
 */
export class LatencySamples {
  values = new Float64Array(1 << 16);
  length = 0;

  push(latency) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = latency;
  }

  /** Every sample of `other` too. */
  add(other) {
    while (this.length + other.length > this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values.subarray(0, this.length));
      this.values = grown;
    }
    this.values.set(other.values.subarray(0, other.length), this.length);
    this.length += other.length;
  }

  /** The samples in ascending order (numeric, without a comparator). */
  sorted() {
    return this.values.subarray(0, this.length).sort();
  }
}

/** p50, p90, p99 and the maximum of latencies sorted in ascending order. */
export function percentiles(sorted) {
  const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

/**
 * Opens the receivers (socket i joins room i % rooms) and the publishers
 * once; `measure` then runs one offered load on them, so a ramp reuses the
 * same sockets step after step.
 */
export async function openFleet({ urls, protocol = 'switchboard', token = () => '', sockets, rooms, publishers, connectConcurrency = 200 }) {
  const adapter = ADAPTERS[protocol];
  const members = new Map();
  let onPush = () => undefined;
  const receivers = [];
  for (let start = 0; start < sockets; start += connectConcurrency) {
    const batch = [];
    for (let i = start; i < Math.min(sockets, start + connectConcurrency); i++) {
      batch.push(
        adapter.open(urls[i % urls.length], token(`user-${i}`)).then(async (socket) => {
          const room = `room-${i % rooms}`;
          members.set(room, (members.get(room) ?? 0) + 1);
          socket.onMessage((sentAt) => onPush(sentAt));
          await socket.join(room);
          receivers.push(socket);
        }),
      );
    }
    await Promise.all(batch);
  }
  const senders = await Promise.all(Array.from({ length: publishers }, (_, p) => adapter.open(urls[p % urls.length], token(`publisher-${p}`))));
  // Idempotency keys unique to this fleet: a database reused between runs must not see resends.
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  let sent = 0;

  async function measure({ rate, durationMs, warmupMs = 1000, settleMs = 1500, bodyBytes = 64, onWindow = () => undefined, keepLatencies = false }) {
    const latencies = new LatencySamples();
    let measuring = false;
    // Deliveries count by when their message was sent: those sent in the window, whenever they arrive.
    let windowFrom = Infinity;
    let windowTo = Infinity;
    let receivedWhileMeasuring = 0;
    onPush = (sentAt) => {
      if (sentAt < windowFrom || sentAt >= windowTo) return;
      receivedWhileMeasuring++;
      latencies.push(performance.timeOrigin + performance.now() - sentAt);
    };
    const pad = 'x'.repeat(Math.max(0, bodyBytes - 30));
    let sentWhileMeasuring = 0;
    let expectedWhileMeasuring = 0;
    let acked = 0;
    let refused = 0;
    const perTick = rate / 100;
    let carry = 0;
    const started = performance.now();
    let measureStart = 0;
    let cpuAtOpen;
    let generatorCpu = 0;
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - started;
        if (!measuring && elapsed >= warmupMs) {
          measuring = true;
          measureStart = performance.now();
          windowFrom = performance.timeOrigin + measureStart;
          cpuAtOpen = process.cpuUsage();
          onWindow('open');
        }
        if (elapsed >= warmupMs + durationMs) {
          clearInterval(timer);
          windowTo = performance.timeOrigin + performance.now();
          const used = process.cpuUsage(cpuAtOpen);
          generatorCpu = (used.user + used.system) / 1000;
          onWindow('close');
          return resolve();
        }
        carry += perTick;
        for (; carry >= 1; carry--) {
          const room = `room-${sent % rooms}`;
          const sender = senders[sent % senders.length];
          sender.publish(room, performance.timeOrigin + performance.now(), pad, `${run}-${sent}`).then(
            () => acked++,
            () => refused++,
          );
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
    // Let the last messages of the window arrive before the next step.
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    return {
      sockets: receivers.length,
      sent: sentWhileMeasuring,
      acked,
      refused,
      offeredRate: rate,
      deliveriesPerSecond: (receivedWhileMeasuring / measuredMs) * 1000,
      expectedDeliveries: expectedWhileMeasuring,
      measuredDeliveries: receivedWhileMeasuring,
      /** Deliveries of the window still missing after the settle time: lost, or later than it. */
      lost: Math.max(0, expectedWhileMeasuring - receivedWhileMeasuring),
      latencyMs: percentiles(latencies.sorted()),
      ...(keepLatencies ? { latencies } : {}),
      measuredMs,
      /** The load generator's own CPU share in the window: near 1 means it, not the server, was the limit. */
      generatorBusy: generatorCpu / measuredMs,
    };
  }

  return {
    measure,
    sockets: receivers.length,
    close: () => {
      for (const socket of [...receivers, ...senders]) socket.close();
    },
  };
}

/**
 * Opens `count` sockets (authenticated by their tokens) and, unless `rooms`
 * is 0, joins each to one room; keeps them open. Sockets that fail to open
 * (a refused or timed-out handshake) are counted, not thrown.
 */
export async function openIdle({ urls, protocol = 'switchboard', token = () => '', count, rooms = 100, connectConcurrency = 200, offset = 0, localAddress }) {
  const adapter = ADAPTERS[protocol];
  const opened = [];
  let failures = 0;
  let firstError;
  const started = performance.now();
  for (let start = 0; start < count; start += connectConcurrency) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + connectConcurrency); i++) {
      const n = offset + i;
      batch.push(
        adapter.open(urls[n % urls.length], token(`idle-${n}`), { localAddress, handshakeTimeout: 15_000 }).then(
          async (socket) => {
            if (rooms > 0) await socket.join(`room-${n % rooms}`);
            opened.push(socket);
          },
          (error) => {
            failures++;
            firstError ??= error.message;
          },
        ),
      );
    }
    await Promise.all(batch);
  }
  return { sockets: opened, failures, firstError, elapsedMs: performance.now() - started, close: () => opened.forEach((socket) => socket.close()) };
}

/** Joins already open sockets (from openIdle with rooms: 0) to one room each. */
export async function joinAll(sockets, { rooms = 100, offset = 0, concurrency = 200 }) {
  for (let start = 0; start < sockets.length; start += concurrency) {
    await Promise.all(sockets.slice(start, start + concurrency).map((socket, i) => socket.join(`room-${(offset + start + i) % rooms}`)));
  }
}

/**
 * The durable publish rate: `senders` sockets each keep `window` sends in
 * flight (a new one as each ack comes back) into small rooms of `roomSize`
 * receivers, for `durationMs` after a warm-up. Counts acks, their latency,
 * and checks every acked message reached every receiver.
 */
export async function runDurable({ urls, token = () => '', senders, window: inFlight, roomSize, durationMs, warmupMs = 1000, bodyBytes = 64, onWindow = () => undefined }) {
  const adapter = ADAPTERS.switchboard;
  const rooms = senders;
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  let delivered = 0;
  const receivers = [];
  for (let r = 0; r < rooms; r++) {
    for (let m = 0; m < roomSize; m++) {
      const socket = await adapter.open(urls[(r * roomSize + m) % urls.length], token(`durable-member-${r}-${m}`));
      socket.onMessage(() => delivered++);
      await socket.join(`durable-${run}-${r}`);
      receivers.push(socket);
    }
  }
  const publishers = await Promise.all(Array.from({ length: senders }, (_, p) => adapter.open(urls[p % urls.length], token(`durable-sender-${p}`))));
  const pad = 'x'.repeat(Math.max(0, bodyBytes - 30));
  const latencies = [];
  let measuring = false;
  let stopping = false;
  let ackedWhileMeasuring = 0;
  let acked = 0;
  let failed = 0;
  let sent = 0;
  const loops = publishers.map(async (publisher, p) => {
    const room = `durable-${run}-${p}`;
    const lane = async () => {
      while (!stopping) {
        const started = performance.now();
        try {
          await publisher.publish(room, performance.timeOrigin + started, pad, `${run}-${p}-${sent++}`);
          acked++;
          if (measuring) {
            ackedWhileMeasuring++;
            latencies.push(performance.now() - started);
          }
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
  });
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  measuring = true;
  onWindow('open');
  const measureStart = performance.now();
  const cpuAtOpen = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  measuring = false;
  const generatorCpu = process.cpuUsage(cpuAtOpen);
  onWindow('close');
  const measuredMs = performance.now() - measureStart;
  stopping = true;
  await Promise.all(loops);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  for (const socket of [...receivers, ...publishers]) socket.close();
  latencies.sort((a, b) => a - b);
  const { p50, p99, max } = percentiles(latencies);
  return {
    ackedPerSecond: (ackedWhileMeasuring / measuredMs) * 1000,
    ackLatencyMs: { p50, p99, max },
    acked,
    failed,
    expectedDeliveries: acked * roomSize,
    delivered,
    measuredMs,
    generatorBusy: (generatorCpu.user + generatorCpu.system) / 1000 / measuredMs,
  };
}

const timestampOf = (frame) => {
  // The timestamp sits at a known place; parsing only it keeps the generator's cost low.
  const at = frame.indexOf('"t":');
  return at < 0 ? NaN : parseFloat(frame.slice(at + 4, frame.indexOf(',', at)));
};

const ADAPTERS = {
  switchboard: {
    async open(url, token, options) {
      const socket = await openRawSocket(`${url}?access_token=${token}`, options);
      let requests = 0;
      const pending = new Map();
      let onPush = () => undefined;
      socket.on('message', (frame) => {
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
    async open(url, _token, options) {
      const socket = await openRawSocket(url, options);
      let onPush = () => undefined;
      socket.on('message', (frame) => onPush(timestampOf(frame)));
      return {
        onMessage: (handler) => (onPush = handler),
        join: async (room) => socket.send(JSON.stringify({ event: 'join', data: { room } })),
        publish: async (room, t, pad) => socket.send(JSON.stringify({ event: 'publish', data: { room, payload: { t, pad } } })),
        close: () => socket.terminate(),
      };
    },
  },
  socketio: {
    async open(url, _token, options) {
      // engine.io v4: open packet "0{...}", then the Socket.IO connect "40".
      const socket = await openRawSocket(`${url}?EIO=4&transport=websocket`, options);
      let onPush = () => undefined;
      let acks = 0;
      const pending = new Map();
      const connected = new Promise((resolve) => {
        socket.on('message', (frame) => {
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
