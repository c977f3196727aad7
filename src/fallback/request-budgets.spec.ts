import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { RequestBudgets, SWEEP_EVERY_TAKES } from './request-budgets.js';

const user = (id: string): AuthenticatedUser => ({ id, name: id, tenantId: '', expiresAt: 0 });
const budgetsOf = (perSecond: number, burst: number) =>
  new RequestBudgets({ websocket: { rateLimitPerSecond: perSecond, rateLimitBurst: burst } } as ResolvedRealtimeOptions);

/** Requests by other users, enough for the table to be swept at least once at `now`. */
function sweepAt(budgets: RequestBudgets, now: number): void {
  for (let n = 0; n < SWEEP_EVERY_TAKES; n++) budgets.take(user(`passer-by-${n}`), now);
}

/** How many of `user`'s requests in a row at `now` are accepted. */
function acceptedAt(budgets: RequestBudgets, id: string, now: number): number {
  let accepted = 0;
  while (budgets.take(user(id), now)) accepted++;
  return accepted;
}

describe('RequestBudgets', () => {
  it('keeps a spent budget through a sweep until it has refilled, however long it goes unused', () => {
    // 30 requests at once, then 1 a second: a spent budget takes 30 s to refill.
    const budgets = budgetsOf(1, 30);
    expect(acceptedAt(budgets, 'hasty', 0)).toBe(30);
    sweepAt(budgets, 11_000);
    // 11 s later, 11 requests have come back, not the whole burst.
    expect(acceptedAt(budgets, 'hasty', 11_000)).toBe(11);
    sweepAt(budgets, 40_000);
    expect(acceptedAt(budgets, 'hasty', 40_000)).toBe(29);
  });

  it('keeps the charge of a large response through a sweep', () => {
    const budgets = budgetsOf(1, 30);
    const budget = budgets.take(user('reader'), 0)!;
    budget.charge(100);
    // The debt is capped at a second's worth (-1): 31 s to refill.
    sweepAt(budgets, 30_500);
    expect(acceptedAt(budgets, 'reader', 30_500)).toBe(29);
  });

  it('drops the budgets that are full again when it sweeps, and only those', () => {
    const budgets = budgetsOf(10, 20);
    expect(acceptedAt(budgets, 'hasty', 0)).toBe(20);
    budgets.take(user('calm'), 0);
    sweepAt(budgets, 1_000);
    // calm's budget was full again 100 ms after its request: dropped. hasty's is 10 requests short: kept.
    expect(budgets.size).toBe(SWEEP_EVERY_TAKES + 1);
    sweepAt(budgets, 2_000);
    // hasty's is full again too: only the passers-by's budgets, taken from since, are held.
    expect(budgets.size).toBe(SWEEP_EVERY_TAKES);
  });
});
