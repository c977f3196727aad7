import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { userKey, type AuthenticatedUser } from '../auth/authenticated-user.js';
import { FrameBudget, type FramePolicy } from '../gateway/frame-budget.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';

/** A response this large (bytes) counts as one more request, as a reply does on a socket. */
const RESPONSE_BYTES_PER_REQUEST = 16_384;
/** Budgets unused this long are full again: they are dropped when the table is swept. */
const IDLE_MS = 10_000;
const SWEEP_EVERY = 1000;

interface UserBudget {
  budget: FrameBudget;
  usedAt: number;
}

/**
 * The fallback routes' rate limit: each user's requests on this node draw
 * from one budget with the sockets' limits (`WS_RATE_LIMIT_PER_SECOND`,
 * `WS_RATE_LIMIT_BURST`), and a large response (a page of large messages)
 * is charged its size afterwards. A request over it is answered 429, never
 * with a close.
 */
@Injectable()
export class RequestBudgets {
  private readonly budgets = new Map<string, UserBudget>();
  private readonly policy: FramePolicy;
  private takes = 0;

  constructor(@Inject(REALTIME_OPTIONS) { websocket }: ResolvedRealtimeOptions) {
    // No close for HTTP: a refusal is all there is.
    this.policy = { perSecond: websocket.rateLimitPerSecond, burst: websocket.rateLimitBurst, closeAfterMs: Number.POSITIVE_INFINITY };
  }

  /** Takes one request from the user's budget: the budget, to charge the response to, or undefined when none is left. */
  take(user: AuthenticatedUser, now = Date.now()): FrameBudget | undefined {
    if (++this.takes % SWEEP_EVERY === 0) this.sweep(now);
    const key = userKey(user.tenantId, user.id);
    let entry = this.budgets.get(key);
    if (!entry) this.budgets.set(key, (entry = { budget: new FrameBudget(this.policy, now), usedAt: now }));
    entry.usedAt = now;
    return entry.budget.take(now) === 'accept' ? entry.budget : undefined;
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.budgets) if (now - entry.usedAt > IDLE_MS) this.budgets.delete(key);
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
