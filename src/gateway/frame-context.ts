import type { Connection } from '../delivery/connection.js';
import type { RealtimeError } from '../protocol/error-codes.js';

/**
 * One client request on its way through a handler: the connection it came
 * on, its event and id, the error the exception filter recorded, and work to
 * do once the reply is out.
 */
export class FrameContext {
  error: RealtimeError | undefined;
  private afterReplyTasks: Array<() => Promise<void>> | undefined;

  constructor(
    readonly connection: Connection,
    readonly event: string,
    readonly id: string | undefined,
    /** Its number among the socket's frames (Connection.framesArrived). */
    readonly arrival: number,
  ) {}

  afterReply(task: () => Promise<void>): void {
    (this.afterReplyTasks ??= []).push(task);
  }

  async replied(): Promise<void> {
    if (!this.afterReplyTasks) return;
    for (const task of this.afterReplyTasks) await task();
  }
}
