import { jest } from '@jest/globals';
import { SharedProbe } from './shared-probe.js';

const FRESH_MS = 1000;
const LOST_AFTER_MS = 5000;

/** A probe whose runs the test answers one by one, on a clock the test moves. */
function setup() {
  let clock = 0;
  const runs: Array<{ resolve: (value: string) => void; reject: (error: Error) => void }> = [];
  const probe = new SharedProbe(
    () => new Promise<string>((resolve, reject) => runs.push({ resolve, reject })),
    FRESH_MS,
    LOST_AFTER_MS,
    () => clock,
  );
  const advance = (ms: number) => (clock += ms);
  return { probe, runs, advance };
}

describe('SharedProbe', () => {
  it('runs once for many concurrent callers, who all get its outcome and its own time', async () => {
    const { probe, runs, advance } = setup();
    const outcomes = Array.from({ length: 100 }, () => probe.run());
    expect(runs).toHaveLength(1);
    advance(30);
    runs[0].resolve('pong');
    for (const outcome of await Promise.all(outcomes)) expect(outcome).toEqual({ ok: true, value: 'pong', durationMs: 30 });
  });

  it('reuses an answer within the freshness window after it arrived, and runs again once it has passed', async () => {
    const { probe, runs, advance } = setup();
    const first = probe.run();
    advance(500);
    runs[0].resolve('first');
    await first;
    advance(FRESH_MS - 1);
    expect(await probe.run()).toMatchObject({ value: 'first', durationMs: 500 });
    expect(runs).toHaveLength(1);
    advance(1);
    const second = probe.run();
    expect(runs).toHaveLength(2);
    runs[1].resolve('second');
    expect(await second).toEqual({ ok: true, value: 'second', durationMs: 0 });
  });

  it('starts no second run while one is out, until it is taken for lost, and runs again once the window after its answer has passed', async () => {
    const { probe, runs, advance } = setup();
    const waiting = [probe.run()];
    for (let n = 0; n < 9; n++) {
      advance(500);
      waiting.push(probe.run());
    }
    expect(runs).toHaveLength(1);
    runs[0].resolve('late');
    for (const outcome of await Promise.all(waiting)) expect(outcome).toMatchObject({ value: 'late', durationMs: 4500 });
    advance(FRESH_MS);
    void probe.run();
    expect(runs).toHaveLength(2);
  });

  it('starts another run once the one out is taken for lost; the lost one answering late changes nothing', async () => {
    const { probe, runs, advance } = setup();
    const lost = probe.run();
    advance(LOST_AFTER_MS - 1);
    void probe.run();
    expect(runs).toHaveLength(1);
    advance(1);
    const next = probe.run();
    expect(runs).toHaveLength(2);
    runs[0].resolve('lost');
    expect(await lost).toMatchObject({ value: 'lost' });
    // The new run is still out: the late answer opened no window after which a third would start.
    advance(FRESH_MS);
    expect(probe.run()).toBe(next);
    expect(runs).toHaveLength(2);
    runs[1].resolve('new');
    expect(await next).toMatchObject({ value: 'new', durationMs: FRESH_MS });
    expect(await probe.run()).toMatchObject({ value: 'new' });
  });

  it('gives a caller its own bound on the wait', async () => {
    jest.useFakeTimers();
    try {
      const { probe, runs } = setup();
      const within = probe.runWithin(100);
      await jest.advanceTimersByTimeAsync(100);
      expect(await within).toBeUndefined();
      runs[0].resolve('late');
      expect(await probe.runWithin(100)).toMatchObject({ value: 'late' });
    } finally {
      jest.useRealTimers();
    }
  });

  it('resolves a failure as an outcome, never a rejection, and does not let an earlier success stand in for it', async () => {
    const { probe, runs, advance } = setup();
    const up = probe.run();
    runs[0].resolve('pong');
    await up;
    advance(FRESH_MS);
    const down = probe.run();
    advance(5);
    runs[1].reject(new Error('connection refused'));
    expect(await down).toMatchObject({ ok: false, error: new Error('connection refused'), durationMs: 5 });
    expect(await probe.run()).toMatchObject({ ok: false });
    advance(FRESH_MS);
    const again = probe.run();
    expect(runs).toHaveLength(3);
    runs[2].resolve('pong');
    expect(await again).toMatchObject({ ok: true });
  });

  it('turns a probe that throws at once, or rejects with a non-error, into a failed outcome', async () => {
    const throwing = new SharedProbe<never>(
      () => {
        throw new Error('no connection');
      },
      FRESH_MS,
      LOST_AFTER_MS,
    );
    expect(await throwing.run()).toMatchObject({ ok: false, error: new Error('no connection') });
    const rejecting = new SharedProbe<never>(() => Promise.reject('refused'), FRESH_MS, LOST_AFTER_MS);
    expect(await rejecting.run()).toMatchObject({ ok: false, error: new Error('refused') });
  });
});
