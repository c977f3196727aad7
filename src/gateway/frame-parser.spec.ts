import { isRefused, parseFrame, type ParsedFrame, type RefusedFrame } from './frame-parser.js';

function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

function parse(value: unknown): ParsedFrame | RefusedFrame {
  return parseFrame(text(typeof value === 'string' ? value : JSON.stringify(value)), false);
}

function refused(frame: ParsedFrame | RefusedFrame): RefusedFrame {
  if (!isRefused(frame)) throw new Error(`expected a refusal, got ${JSON.stringify(frame)}`);
  return frame;
}

function accepted(frame: ParsedFrame | RefusedFrame): ParsedFrame {
  if (isRefused(frame)) throw new Error(`expected a request, got the refusal "${frame.message}"`);
  return frame;
}

describe('parseFrame', () => {
  describe('valid frames', () => {
    it('reads event, id and data', () => {
      const frame = accepted(parse({ id: 'r1', event: 'message.send', data: { room: 'general', text: 'hi' } }));
      expect(frame).toEqual({ id: 'r1', event: 'message.send', data: { room: 'general', text: 'hi' } });
    });

    it('accepts a frame without id', () => {
      const frame = accepted(parse({ event: 'presence.list', data: { room: 'general' } }));
      expect(frame.id).toBeUndefined();
      expect(frame.event).toBe('presence.list');
    });

    it('turns missing data into {}', () => {
      expect(accepted(parse({ id: 'r1', event: 'room.list' })).data).toEqual({});
    });

    it('accepts an id of 128 characters', () => {
      const id = 'x'.repeat(128);
      expect(accepted(parse({ id, event: 'ping' })).id).toBe(id);
    });

    it('counts an id in code points, as the contract counts every length', () => {
      const id = '😀'.repeat(128);
      expect(accepted(parse({ id, event: 'ping' })).id).toBe(id);
      expect(refused(parse({ id: '😀'.repeat(129), event: 'ping' })).details).toEqual([expect.objectContaining({ field: 'id' })]);
    });

    it('accepts an event name of 64 characters', () => {
      const event = 'e'.repeat(64);
      expect(accepted(parse({ event })).event).toBe(event);
    });

    it('accepts an empty string id', () => {
      expect(accepted(parse({ id: '', event: 'ping' })).id).toBe('');
    });

    it('keeps unicode text intact', () => {
      const raw = '{"event":"message.send","data":{"room":"général","text":"héllo 👋 世界 ✓"}}';
      const frame = accepted(parseFrame(text(raw), false));
      expect(frame.data).toEqual({ room: 'général', text: 'héllo 👋 世界 ✓' });
    });

    it('joins fragmented input', () => {
      const raw = text(JSON.stringify({ id: 'r2', event: 'message.send', data: { text: 'abc' } }));
      const frame = accepted(parseFrame([raw.subarray(0, 5), raw.subarray(5, 20), raw.subarray(20)], false));
      expect(frame).toEqual({ id: 'r2', event: 'message.send', data: { text: 'abc' } });
    });

    it('joins fragments split inside a multi-byte character', () => {
      const raw = text(JSON.stringify({ event: 'message.send', data: { text: '👋' } }));
      const emojiStart = raw.indexOf(Buffer.from('👋', 'utf8'));
      const frame = accepted(parseFrame([raw.subarray(0, emojiStart + 2), raw.subarray(emojiStart + 2)], false));
      expect(frame.data).toEqual({ text: '👋' });
    });

    it('reads an ArrayBuffer', () => {
      const raw = text('{"event":"ping","id":"a"}');
      const arrayBuffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
      expect(accepted(parseFrame(arrayBuffer, false))).toEqual({ event: 'ping', id: 'a', data: {} });
    });
  });

  describe('refused frames', () => {
    it('refuses binary frames', () => {
      const frame = refused(parseFrame(text('{"event":"ping","id":"r1"}'), true));
      expect(frame.message).toMatch(/binary/);
      expect(frame.id).toBeUndefined();
      expect(frame.event).toBeUndefined();
    });

    it('refuses invalid JSON', () => {
      const frame = refused(parse('{"event": "ping",'));
      expect(frame.message).toMatch(/not valid JSON/);
      expect(frame.id).toBeUndefined();
      expect(frame.event).toBeUndefined();
    });

    it('refuses an empty frame', () => {
      expect(refused(parse('')).message).toMatch(/not valid JSON/);
    });

    it.each([
      ['an array', '[{"event":"ping"}]'],
      ['a number', '42'],
      ['a string', '"ping"'],
      ['null', 'null'],
      ['a boolean', 'true'],
    ])('refuses %s', (_name, raw) => {
      const frame = refused(parse(raw));
      expect(frame.message).toBe('the frame must be a JSON object');
      expect(frame.id).toBeUndefined();
      expect(frame.event).toBeUndefined();
    });

    it.each([
      ['a number', 42],
      ['an object', { a: 1 }],
      ['null', null],
      ['an array', ['r1']],
    ])('refuses an id that is %s without echoing it', (_name, id) => {
      const frame = refused(parse({ id, event: 'ping' }));
      expect(frame.id).toBeUndefined();
      expect(frame.details).toEqual([expect.objectContaining({ field: 'id' })]);
    });

    it('refuses an id of 129 characters without echoing it', () => {
      const frame = refused(parse({ id: 'x'.repeat(129), event: 'ping' }));
      expect(frame.id).toBeUndefined();
      expect(frame.message).toMatch(/128/);
      expect(frame.details).toEqual([expect.objectContaining({ field: 'id' })]);
    });

    it('echoes the event of a frame with a bad id', () => {
      expect(refused(parse({ id: 7, event: 'message.send' })).event).toBe('message.send');
    });

    it('echoes at most 64 characters of the event of a frame with a bad id', () => {
      expect(refused(parse({ id: 7, event: 'e'.repeat(100) })).event).toBe('e'.repeat(64));
    });

    it.each([
      ['missing', {}],
      ['empty', { event: '' }],
      ['a number', { event: 5 }],
      ['an object', { event: { name: 'ping' } }],
      ['null', { event: null }],
      ['65 characters long', { event: 'e'.repeat(65) }],
    ])('refuses an event that is %s', (_name, body) => {
      const frame = refused(parse({ id: 'r9', ...body }));
      expect(frame.message).toBe('event must name an event');
      expect(frame.event).toBeUndefined();
      expect(frame.id).toBe('r9');
      expect(frame.details).toEqual([expect.objectContaining({ field: 'event' })]);
    });

    it.each([
      ['an array', [1, 2]],
      ['a string', 'hello'],
      ['null', null],
      ['a number', 3],
    ])('refuses data that is %s', (_name, data) => {
      const frame = refused(parse({ id: 'r3', event: 'message.send', data }));
      expect(frame.message).toBe('data must be a JSON object');
      expect(frame.id).toBe('r3');
      expect(frame.event).toBe('message.send');
      expect(frame.details).toEqual([expect.objectContaining({ field: 'data', constraint: 'isObject' })]);
    });
  });
});

describe('isRefused', () => {
  it('tells refusals from requests', () => {
    expect(isRefused(parse({ event: 'ping' }))).toBe(false);
    expect(isRefused(parse('nope'))).toBe(true);
  });
});
