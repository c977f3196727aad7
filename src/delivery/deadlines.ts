/** setTimeout takes at most 2^31-1 ms; longer waits are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;

interface DeadlineGroup<T> {
  timer: NodeJS.Timeout;
  items: Set<T>;
}

/**
 * Items that fall due at given times, with one timer per distinct time rather
 * than one per item: token expiries fall on whole seconds, so the sockets of a
 * node share a handful of timers instead of holding one each (a Timeout, its
 * callback and its timer list: about a quarter of a kilobyte per idle socket).
 */
export class Deadlines<T> {
  private readonly groups = new Map<number, DeadlineGroup<T>>();

  constructor(private readonly onDue: (item: T) => void) {}

  /** `item` falls due at `at` (ms since the epoch), or now if that has passed. */
  add(at: number, item: T): void {
    if (at <= Date.now()) return this.onDue(item);
    let group = this.groups.get(at);
    if (!group) this.groups.set(at, (group = { timer: this.arm(at), items: new Set() }));
    group.items.add(item);
  }

  remove(at: number, item: T): void {
    const group = this.groups.get(at);
    if (!group?.items.delete(item) || group.items.size > 0) return;
    clearTimeout(group.timer);
    this.groups.delete(at);
  }

  /** Distinct times with items waiting. */
  get pendingTimes(): number {
    return this.groups.size;
  }

  private arm(at: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.fire(at), Math.min(at - Date.now(), MAX_TIMER_MS));
    timer.unref();
    return timer;
  }

  private fire(at: number): void {
    const group = this.groups.get(at);
    if (!group) return;
    if (Date.now() < at) {
      group.timer = this.arm(at);
      return;
    }
    this.groups.delete(at);
    for (const item of group.items) this.onDue(item);
  }
}
