import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { userKey, type AuthenticatedUser } from '../auth/authenticated-user.js';
import { FrameBudget, type FramePolicy } from '../gateway/frame-budget.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';

/** A response this large (bytes) counts as one more request, as a reply does on a socket. */
const RESPONSE_BYTES_PER_REQUEST = 16_384;
/** The table is swept of full budgets once per this many requests. */
export const SWEEP_EVERY_TAKES = 1000;

/**
 * The fallback routes' rate limit: each user's requests on this node draw
 * from one budget with the sockets' limits (`WS_RATE_LIMIT_PER_SECOND`,
 * `WS_RATE_LIMIT_BURST`), and a large response (a page of large messages)
 * is charged its size afterwards. A request over it is answered 429, never
 * with a close.
 */
@Injectable()
export class RequestBudgets {
  private readonly budgets = new Map<string, FrameBudget>();
  private readonly policy: FramePolicy;
  private takes = 0;

  constructor(@Inject(REALTIME_OPTIONS) { websocket }: ResolvedRealtimeOptions) {
    // No close for HTTP: a refusal is all there is.
    this.policy = { perSecond: websocket.rateLimitPerSecond, burst: websocket.rateLimitBurst, closeAfterMs: Number.POSITIVE_INFINITY };
  }

  /** Takes one request from the user's budget: the budget, to charge the response to, or undefined when none is left. */
  take(user: AuthenticatedUser, now = Date.now()): FrameBudget | undefined {
    if (++this.takes % SWEEP_EVERY_TAKES === 0) this.sweep(now);
    const key = userKey(user.tenantId, user.id);
    let budget = this.budgets.get(key);
    if (!budget) this.budgets.set(key, (budget = new FrameBudget(this.policy, now)));
    return budget.take(now) === 'accept' ? budget : undefined;
  }

  /** Users whose budgets are held: the ones not full again at the last sweep, and the ones seen since. */
  get size(): number {
    return this.budgets.size;
  }

  /**
   * Drops the budgets that are full again: a new one is the same (a refusal
   * never closes anything here). One still refilling is kept, however long
   * unused: with a burst of more than a few seconds' rate (or a large page's
   * charge on top), its penalty outlasts any fixed idle time.
   */
  private sweep(now: number): void {
    for (const [key, budget] of this.budgets) if (budget.isFull(now)) this.budgets.delete(key);
  }
}

/** After BearerAuthGuard: the user's request budget (see RequestBudgets). */
@Injectable()
export class RequestBudgetGuard implements CanActivate {
  constructor(private readonly budgets: RequestBudgets) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const user = http.getRequest<{ user: AuthenticatedUser }>().user;
    const budget = this.budgets.take(user);
    if (!budget) throw RealtimeError.rateLimited('too many requests; slow down');
    const response = http.getResponse<ServerResponse>();
    response.once('finish', () => {
      const length = Number(response.getHeader('content-length'));
      if (length >= RESPONSE_BYTES_PER_REQUEST) budget.charge(Math.floor(length / RESPONSE_BYTES_PER_REQUEST));
    });
    return true;
  }
}
