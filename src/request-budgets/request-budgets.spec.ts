import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import type { ResolvedRealtimeOptions } from '../realtime-options.js';
import { AdminRequestBudgets, FallbackRequestBudgets, RequestBudgets, SWEEP_EVERY_TAKES } from './request-budgets.js';

const user = (id: string): AuthenticatedUser => ({ id, name: id, tenantId: '', expiresAt: 0 });
const budgetsOf = (perSecond: number, burst: number) => new RequestBudgets({ perSecond, burst });

/** Requests by other users, enough for the table to be swept at least once at `now`. */
function sweepAt(budgets: RequestBudgets, now: number): void {
  for (let n = 0; n < SWEEP_EVERY_TAKES; n++) budgets.take(user(`passer-by-${n}`), now);
}

/** How many of `user`'s requests in a row at `now` are accepted. */
function acceptedAt(budgets: RequestBudgets, id: string, now: number): number {
  let accepted = 0;
  while ('budget' in budgets.take(user(id), now)) accepted++;
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
    const taken = budgets.take(user('reader'), 0);
    if (!('budget' in taken)) throw new Error('the first request was refused');
    taken.budget.charge(100);
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

  it('tells a refused request how long until the budget takes one again, a charged debt included', () => {
    const budgets = budgetsOf(2, 3);
    expect(acceptedAt(budgets, 'hasty', 0)).toBe(3);
    expect(budgets.take(user('hasty'), 0)).toEqual({ retryAfterMs: 500 });
    expect(budgets.take(user('hasty'), 200)).toEqual({ retryAfterMs: 300 });
    expect(budgets.take(user('hasty'), 500)).toHaveProperty('budget');

    const reader = budgetsOf(4, 1);
    const taken = reader.take(user('reader'), 0);
    if (!('budget' in taken)) throw new Error('the first request was refused');
    // A large response: the debt is capped at a second's worth (-4), 5 tokens from the next request.
    taken.budget.charge(100);
    expect(reader.take(user('reader'), 0)).toEqual({ retryAfterMs: 1250 });
    expect(reader.take(user('reader'), 1249)).toHaveProperty('retryAfterMs');
    expect(reader.take(user('reader'), 1250)).toHaveProperty('budget');
  });

  it("keeps the admin API's budgets apart from the fallback routes', each with its own limits", () => {
    const options = {
      websocket: { rateLimitPerSecond: 1, rateLimitBurst: 2 },
      admin: { rateLimitPerSecond: 1, rateLimitBurst: 5 },
    } as ResolvedRealtimeOptions;
    const fallback = new FallbackRequestBudgets(options);
    const admin = new AdminRequestBudgets(options);
    expect(acceptedAt(fallback, 'root', 0)).toBe(2);
    expect(acceptedAt(admin, 'root', 0)).toBe(5);
  });
});
