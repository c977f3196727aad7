import { timeOrderedUuid } from './message-batch.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('timeOrderedUuid', () => {
  it('is a version 7 UUID that starts with the time in milliseconds', () => {
    const now = Date.UTC(2026, 10, 22, 12, 0, 0, 123);
    const id = timeOrderedUuid(now);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
  });

  it('sorts by time, so that new ids go to the end of an index', () => {
    const ids = [0, 1, 255, 256, 65_536, Date.now(), 2 ** 47].map((time) => timeOrderedUuid(time));
    expect([...ids].sort()).toEqual(ids);
  });

  it('differs for ids made in the same millisecond', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 1000 }, () => timeOrderedUuid(now)));
    expect(ids.size).toBe(1000);
  });
});
