/** Random and malformed frames for the fuzz suite, from a seeded generator so that a failure can be replayed. */

export interface FuzzFrame {
  payload: string | Buffer;
  binary: boolean;
  /** Whether the frame carries a readable request id (its answer then carries it too). */
  id?: string;
}

export function randomSource(seed: number): () => number {
  // mulberry32
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = ['room.join', 'room.leave', 'message.send', 'message.edit', 'message.delete', 'history.fetch', 'presence.list', 'typing', 'auth.refresh', 'ping', 'auth'];
const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff',
  '😀'.repeat(10),
  '\u202e\u200b\ufeff',
  'é'.repeat(5),
  '"\'\\',
  '<script>alert(1)</script>',
  "'; DROP TABLE switchboard_messages; --",
  '%00%ff',
  'a'.repeat(129),
  'room:with.dots_and-dashes',
  '🏳️‍🌈',
  '\n\r\t',
];

export class FrameFuzzer {
  private counter = 0;
  constructor(
    private readonly random: () => number,
    private readonly rooms: string[],
    private readonly maxBytes: number,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  private int(max: number): number {
    return Math.floor(this.random() * max);
  }

  private value(depth = 0): unknown {
    switch (this.int(depth > 3 ? 6 : 9)) {
      case 0:
        return this.int(2) ? this.int(1000) : -this.random() * 1e20;
      case 1:
        return this.pick(ODD_STRINGS);
      case 2:
        return null;
      case 3:
        return this.int(2) === 0;
      case 4:
        return this.pick([Number.MAX_SAFE_INTEGER + 2, 1.5, -1, 0, 1e308]);
      case 5:
        return 'x'.repeat(this.int(5000));
      case 6:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      case 7:
        return Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.pick(['room', 'text', 'seq', '__proto__', 'constructor', 'x']), this.value(depth + 1)]));
      default:
        return this.pick(this.rooms);
    }
  }

  /** A request whose fields have plausible names and random values. */
  private request(): Record<string, unknown> {
    const data: Record<string, unknown> = {};
    for (const field of ['room', 'text', 'payload', 'clientMsgId', 'seq', 'since', 'before', 'after', 'limit', 'token']) {
      if (this.int(3) === 0) continue;
      data[field] = this.int(3) === 0 ? this.value() : this.plausible(field);
    }
    return data;
  }

  private plausible(field: string): unknown {
    switch (field) {
      case 'room':
        return this.pick(this.rooms);
      case 'text':
        return this.pick(['hello', 'é😀', 'x'.repeat(4000), 'x'.repeat(4001)]);
      case 'payload':
        return { n: this.int(100), nested: { deep: [1, 2, { a: 'b' }] } };
      case 'clientMsgId':
        return `c${this.int(50)}`;
      case 'token':
        return 'not.a.token';
      default:
        return this.int(20);
    }
  }

  next(): FuzzFrame {
    const id = `f${++this.counter}`;
    const kind = this.int(12);
    if (kind === 0) return { payload: Buffer.from(Array.from({ length: 1 + this.int(200) }, () => this.int(256))), binary: true };
    if (kind === 1) {
      // Text frame with bytes that are not UTF-8.
      return { payload: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0xa0, 0xa1, 0xff, 0x7d]), binary: false };
    }
    if (kind === 2) {
      const valid = JSON.stringify({ event: this.pick(EVENTS), id, data: this.request() });
      return { payload: valid.slice(0, this.int(valid.length)), binary: false };
    }
    if (kind === 3) return { payload: JSON.stringify(this.value()), binary: false };
    if (kind === 4) {
      const depth = 10 + this.int(3000);
      return { payload: `{"event":"message.send","id":"${id}","data":{"room":"a","clientMsgId":"d","payload":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`, binary: false, id };
    }
    if (kind === 5) {
      const pad = 'y'.repeat(Math.max(0, this.maxBytes - 1000 - this.int(1000)));
      return { payload: JSON.stringify({ event: 'message.send', id, data: { room: this.pick(this.rooms), text: pad, clientMsgId: 'big' } }), binary: false, id };
    }
    if (kind === 6) return { payload: JSON.stringify({ event: this.value(), id, data: this.request() }), binary: false, id };
    if (kind === 7) return { payload: JSON.stringify({ event: this.pick(EVENTS), id, data: this.value() }), binary: false, id };
    if (kind === 8) return { payload: JSON.stringify({ event: this.pick(EVENTS), id: this.value(), data: this.request() }), binary: false };
    // The rest: real events with random, often wrong, data.
    return { payload: JSON.stringify({ event: this.pick(EVENTS), id, data: this.request() }), binary: false, id };
  }
}
