import WebSocket from 'ws';

interface Pending {
  room: string;
  clientMsgId: string;
  text: string;
}

export interface Ack {
  room: string;
  seq: number;
  messageId: string;
  clientMsgId: string;
  duplicate: boolean;
}

/**
 * A client that behaves as the protocol asks of one that must not lose
 * anything: it reconnects after any close, rejoins its rooms with `since` =
 * the last `seq` it saw, and resends every send it has no ack for with its
 * original `clientMsgId`. It records every delivery, duplicates included.
 */
export class ResumingClient {
  /** Every `message` push in arrival order, per room (duplicates kept). */
  readonly deliveries = new Map<string, Array<{ seq: number; messageId: string }>>();
  readonly acks: Ack[] = [];
  readonly closeCodes: number[] = [];
  private readonly lastSeq = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private socket: WebSocket | null = null;
  private stopped = false;
  private counter = 0;
  private attempt = 0;
  connections = 0;
  /** Where the last connection went. */
  connectedTo = '';

  /** With several URLs (the nodes of a cluster), each reconnect tries the next one. */
  constructor(
    private readonly urls: string | string[],
    private readonly token: string,
    readonly name: string,
    private readonly rooms: string[],
  ) {
    for (const room of rooms) this.deliveries.set(room, []);
  }

  start(): void {
    this.connect();
  }

  /** Queues a message; it is sent now if connected, else on the next connection. */
  send(room: string): void {
    const clientMsgId = `${this.name}-${++this.counter}`;
    const pending = { room, clientMsgId, text: `${this.name} says ${this.counter}` };
    this.pending.set(clientMsgId, pending);
    this.transmit(pending);
  }

  get unacked(): number {
    return this.pending.size;
  }

  highestSeen(room: string): number {
    return this.lastSeq.get(room) ?? 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
      });
    } else {
      socket?.terminate();
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const urls = Array.isArray(this.urls) ? this.urls : [this.urls];
    const url = urls[this.attempt++ % urls.length];
    const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${this.token}` } });
    this.socket = socket;
    socket.on('open', () => {
      this.connections++;
      this.connectedTo = url;
      for (const room of this.rooms) {
        socket.send(JSON.stringify({ event: 'room.join', id: `join-${room}`, data: { room, since: this.highestSeen(room) } }));
      }
      for (const pending of this.pending.values()) this.transmit(pending);
    });
    socket.on('message', (raw) => this.receive(JSON.parse(raw.toString())));
    socket.on('close', (code) => {
      this.closeCodes.push(code);
      this.socket = null;
      setTimeout(() => this.connect(), 50 + Math.random() * 100);
    });
    socket.on('error', () => undefined);
    socket.on('unexpected-response', (_request, response) => {
      response.resume();
      socket.terminate();
    });
  }

  private transmit(pending: Pending): void {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ event: 'message.send', id: `send:${pending.clientMsgId}`, data: pending }));
  }

  private receive(frame: { event: string; id?: string; data: any }): void {
    if (frame.event === 'message') {
      const { room, seq, messageId } = frame.data as { room: string; seq: number; messageId: string };
      this.deliveries.get(room)?.push({ seq, messageId });
      if (seq > this.highestSeen(room)) this.lastSeq.set(room, seq);
    } else if (frame.event === 'message.send' && frame.id?.startsWith('send:')) {
      const clientMsgId = frame.id.slice('send:'.length);
      if (this.pending.delete(clientMsgId)) this.acks.push({ ...frame.data, clientMsgId });
    } else if (frame.event === 'error' && frame.id?.startsWith('send:')) {
      // Not stored (storage down, server restarting): try again shortly with the same clientMsgId.
      const pending = this.pending.get(frame.id.slice('send:'.length));
      if (pending) setTimeout(() => this.transmit(pending), 100);
    } else if (frame.event === 'error' && frame.id?.startsWith('join-')) {
      const room = frame.id.slice('join-'.length);
      setTimeout(() => this.socket?.send(JSON.stringify({ event: 'room.join', id: frame.id, data: { room, since: this.highestSeen(room) } })), 100);
    }
  }
}
