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

/** The limits of one kind of request budget. */
export interface RequestRate {
  /** Requests per second, sustained. */
  perSecond: number;
  /** Requests at once. */
  burst: number;
}

/** What `RequestBudgets.take` says: the budget, to charge the response to, or how long until it takes a request again. */
export type RequestVerdict = { budget: FrameBudget } | { retryAfterMs: number };

/**
 * Each user's HTTP requests on this node draw from a budget of their own:
 * `perSecond` sustained, `burst` at once (the sockets' token bucket,
 * FrameBudget), and a large response (a page of large messages, of the
 * audit log) is charged its size afterwards. A request over it is answered
 * 429, never with a close. Each capability keeps its own table with its own
 * limits (the subclasses below): a user's requests to one never spend
 * another's budget.
 */
export class RequestBudgets {
  private readonly budgets = new Map<string, FrameBudget>();
  private readonly policy: FramePolicy;
  private takes = 0;

  constructor({ perSecond, burst }: RequestRate) {
    // No close for HTTP: a refusal is all there is.
    this.policy = { perSecond, burst, closeAfterMs: Number.POSITIVE_INFINITY };
  }

  /** Takes one request from the user's budget. */
  take(user: AuthenticatedUser, now = Date.now()): RequestVerdict {
    if (++this.takes % SWEEP_EVERY_TAKES === 0) this.sweep(now);
    const key = userKey(user.tenantId, user.id);
    let budget = this.budgets.get(key);
    if (!budget) this.budgets.set(key, (budget = new FrameBudget(this.policy, now)));
    return budget.take(now) === 'accept' ? { budget } : { retryAfterMs: budget.msUntilToken(now) };
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

/** The `/rooms/:room` fallback routes: the sockets' limits (`WS_RATE_LIMIT_PER_SECOND`, `WS_RATE_LIMIT_BURST`). */
@Injectable()
export class FallbackRequestBudgets extends RequestBudgets {
  constructor(@Inject(REALTIME_OPTIONS) { websocket }: ResolvedRealtimeOptions) {
    super({ perSecond: websocket.rateLimitPerSecond, burst: websocket.rateLimitBurst });
  }
}

/**
 * The `/admin` API: limits of its own (`ADMIN_RATE_LIMIT_PER_SECOND`,
 * `ADMIN_RATE_LIMIT_BURST`), so that an administrator's chat client and
 * automation do not spend each other's budget, and a bulk job of a few
 * hundred changes runs at full speed while a runaway one is held to the rate.
 */
@Injectable()
export class AdminRequestBudgets extends RequestBudgets {
  constructor(@Inject(REALTIME_OPTIONS) { admin }: ResolvedRealtimeOptions) {
    super({ perSecond: admin.rateLimitPerSecond, burst: admin.rateLimitBurst });
  }
}

/**
 * After BearerAuthGuard, before the permission check (whose answer may need
 * the database): takes the request from the user's budget, or answers 429
 * `RATE_LIMITED` with `Retry-After`, the seconds until this node's budget
 * takes a request again.
 */
abstract class RequestBudgetGuard implements CanActivate {
  constructor(private readonly budgets: RequestBudgets) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const user = http.getRequest<{ user: AuthenticatedUser }>().user;
    const response = http.getResponse<ServerResponse>();
    const verdict = this.budgets.take(user);
    if ('retryAfterMs' in verdict) {
      response.setHeader('Retry-After', String(Math.ceil(verdict.retryAfterMs / 1000)));
      throw RealtimeError.rateLimited('too many requests; slow down');
    }
    const { budget } = verdict;
    response.once('finish', () => {
      const length = Number(response.getHeader('content-length'));
      if (length >= RESPONSE_BYTES_PER_REQUEST) budget.charge(Math.floor(length / RESPONSE_BYTES_PER_REQUEST));
    });
    return true;
  }
}

/** The fallback routes' guard (see FallbackRequestBudgets). */
@Injectable()
export class FallbackRequestBudgetGuard extends RequestBudgetGuard {
  constructor(budgets: FallbackRequestBudgets) {
    super(budgets);
  }
}

/** The admin API's guard (see AdminRequestBudgets). */
@Injectable()
export class AdminRequestBudgetGuard extends RequestBudgetGuard {
  constructor(budgets: AdminRequestBudgets) {
    super(budgets);
  }
}
