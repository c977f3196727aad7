import { jest } from '@jest/globals';
import { Deadlines } from './deadlines.js';

describe('Deadlines', () => {
  let due: string[];
  let deadlines: Deadlines<string>;
  const now = Date.UTC(2026, 10, 22, 12, 0, 0);

  beforeEach(() => {
    jest.useFakeTimers({ now });
    due = [];
    deadlines = new Deadlines<string>((item) => due.push(item));
  });

  afterEach(() => jest.useRealTimers());

  it('hands over each item at its time, one timer per distinct time', () => {
    deadlines.add(now + 2000, 'b');
    deadlines.add(now + 1000, 'a1');
    deadlines.add(now + 1000, 'a2');
    expect(deadlines.pendingTimes).toBe(2);
    expect(jest.getTimerCount()).toBe(2);

    jest.advanceTimersByTime(999);
    expect(due).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(due).toEqual(['a1', 'a2']);
    jest.advanceTimersByTime(1000);
    expect(due).toEqual(['a1', 'a2', 'b']);
    expect(deadlines.pendingTimes).toBe(0);
  });

  it('forgets a removed item, and the timer with the last item of its time', () => {
    deadlines.add(now + 1000, 'a');
    deadlines.add(now + 1000, 'b');
    deadlines.remove(now + 1000, 'a');
    deadlines.remove(now + 5000, 'b'); // not scheduled at that time: nothing happens
    expect(jest.getTimerCount()).toBe(1);
    deadlines.remove(now + 1000, 'b');
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(2000);
    expect(due).toEqual([]);
  });

  it('hands over at once an item whose time has passed', () => {
    deadlines.add(now, 'late');
    expect(due).toEqual(['late']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('waits past the longest timeout setTimeout takes', () => {
    const inThirtyDays = now + 30 * 24 * 3600 * 1000;
    deadlines.add(inThirtyDays, 'far');
    jest.advanceTimersByTime(2 ** 31);
    expect(due).toEqual([]);
    jest.advanceTimersByTime(inThirtyDays - Date.now());
    expect(due).toEqual(['far']);
  });
});
