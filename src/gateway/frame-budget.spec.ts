import { FrameBudget } from './frame-budget.js';

describe('FrameBudget', () => {
  it('accepts a burst, then refuses until tokens come back at the sustained rate', () => {
    const budget = new FrameBudget({ perSecond: 10, burst: 3, closeAfterMs: 3000 }, 0);
    expect([budget.take(0), budget.take(0), budget.take(0), budget.take(0)]).toEqual(['accept', 'accept', 'accept', 'refuse']);
    expect(budget.take(50)).toBe('refuse');
    expect(budget.take(100)).toBe('accept');
    expect(budget.take(100)).toBe('refuse');
  });

  it('neither gives nor takes tokens when the clock steps back', () => {
    const budget = new FrameBudget({ perSecond: 50, burst: 100, closeAfterMs: 3000 }, 1_000_000);
    expect(budget.take(1_000_000)).toBe('accept');
    expect([budget.take(940_000), budget.take(941_000), budget.take(943_100)]).toEqual(['accept', 'accept', 'accept']);
  });

  it('is full once every token has come back, a charged debt included', () => {
    const budget = new FrameBudget({ perSecond: 10, burst: 2, closeAfterMs: 3000 }, 0);
    expect(budget.isFull(0)).toBe(true);
    budget.take(0);
    expect([budget.isFull(99), budget.isFull(100)]).toEqual([false, true]);
    // The debt is capped at a second's worth: -10, 1.2 s from full.
    budget.charge(100);
    expect([budget.isFull(1199), budget.isFull(1200)]).toEqual([false, true]);
  });

  it('never stores more than the burst', () => {
    const budget = new FrameBudget({ perSecond: 10, burst: 2, closeAfterMs: 3000 }, 0);
    const verdicts = [budget.take(60_000), budget.take(60_000), budget.take(60_000)];
    expect(verdicts).toEqual(['accept', 'accept', 'refuse']);
  });

  it('says close once refusals have gone on for closeAfterMs, even with tokens trickling back in between', () => {
    const budget = new FrameBudget({ perSecond: 10, burst: 1, closeAfterMs: 1000 }, 0);
    budget.take(0);
    const verdicts: string[] = [];
    for (let now = 0; now <= 1100; now += 10) verdicts.push(budget.take(now));
    // Index n is time 10 n. The first refusal is at 0 ms; from 1000 ms on, refusals are closes.
    expect(verdicts).toContain('accept');
    expect(verdicts.indexOf('close')).toBe(100);
    expect(verdicts.slice(100).every((verdict) => verdict !== 'refuse')).toBe(true);
  });

  it('closes a client a little over its rate, however far apart its refusals come', () => {
    const budget = new FrameBudget({ perSecond: 10, burst: 20, closeAfterMs: 3000 }, 0);
    for (let n = 0; n < 20; n++) budget.take(0);
    // 2% over the rate for a minute: a refusal only every 5 s, and never a token saved in between.
    const refusals: Array<[string, number]> = [];
    for (let frame = 1; frame <= 612; frame++) {
      const verdict = budget.take((frame * 1000) / 10.2);
      if (verdict !== 'accept') refusals.push([verdict, frame]);
      if (verdict === 'close') break;
    }
    // Frame n comes at n / 10.2 s: the first refused at 0.1 s, the next, 5 s later, closes.
    expect(refusals).toEqual([
      ['refuse', 1],
      ['close', 51],
    ]);
  });

  it("forgets a flood once the client has saved a second's worth of frames, however slowly", () => {
    // A flood at 0, then 8 frames a second (two saved each second) for `seconds`, then a burst of 15.
    const burstAfter = (seconds: number) => {
      const budget = new FrameBudget({ perSecond: 10, burst: 20, closeAfterMs: 3000 }, 0);
      for (let n = 0; n < 20; n++) budget.take(0);
      expect(budget.take(0)).toBe('refuse');
      for (let frame = 1; frame <= 8 * seconds; frame++) expect(budget.take(frame * 125)).toBe('accept');
      return Array.from({ length: 15 }, () => budget.take(seconds * 1000));
    };
    // 8 frames saved: they go through, and the rest is still the flood that began at 0.
    expect(burstAfter(4)).toEqual([...Array(8).fill('accept'), ...Array(7).fill('close')]);
    // 12 saved: trusted again since the tenth; the refusals begin a new flood.
    expect(burstAfter(6)).toEqual([...Array(12).fill('accept'), ...Array(3).fill('refuse')]);
  });

  it('forgets a flood after a second without frames', () => {
    const budget = new FrameBudget({ perSecond: 10, burst: 1, closeAfterMs: 1000 }, 0);
    budget.take(0);
    expect(budget.take(0)).toBe('refuse');
    expect(budget.take(900)).toBe('accept');
    // 1.5 s after the first refusal, but the earlier flood ended: a new one starts counting.
    expect(budget.take(2100)).toBe('accept');
    expect(budget.take(2100)).toBe('refuse');
    expect(budget.take(2150)).toBe('refuse');
  });

  it('charges large answers, in debt of at most a second: a client fetching huge pages is slowed, and closed only if it keeps at it', () => {
    const policy = { perSecond: 10, burst: 20, closeAfterMs: 3000 };
    const budget = new FrameBudget(policy, 0);
    expect(budget.take(0)).toBe('accept');
    budget.charge(500);
    // 19 tokens minus 500, floored at -10: 1.1 s until the next frame.
    expect(budget.take(1000)).toBe('refuse');
    expect(budget.take(1100)).toBe('accept');

    // Each accepted frame a huge page: one every 2 s goes through every time; one every 200 ms is a flood.
    const run = (everyMs: number) => {
      const paced = new FrameBudget(policy, 0);
      const verdicts: string[] = [];
      for (let now = 0; now <= 10_000; now += everyMs) {
        const verdict = paced.take(now);
        verdicts.push(verdict);
        if (verdict === 'accept') paced.charge(1000);
      }
      return verdicts;
    };
    expect(new Set(run(2000))).toEqual(new Set(['accept']));
    expect(run(200)).toContain('close');
  });

  it('does not close a client reading large pages at a steady pace, refused now and then while in debt for them', () => {
    // The defaults. Every 1.2 s a page charged past the cap, and 0.6 s after each a ping, refused: 1.7 frames a second.
    const budget = new FrameBudget({ perSecond: 50, burst: 100, closeAfterMs: 3000 }, 0);
    const verdicts: string[] = [];
    for (let now = 0; now < 30_000; now += 1200) {
      const page = budget.take(now);
      if (page === 'accept') budget.charge(125);
      verdicts.push(page, budget.take(now + 600));
    }
    expect(new Set(verdicts)).toEqual(new Set(['accept', 'refuse']));
  });
});
