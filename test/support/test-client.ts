import WebSocket from 'ws';

export interface Frame {
  event: string;
  id?: string;
  data: any;
}

export interface ConnectOptions {
  token?: string;
  /** Where the token goes: the Authorization header (default), the query string or a cookie. */
  via?: 'header' | 'query' | { cookie: string };
  headers?: Record<string, string>;
  /** false: a client that never answers the server's pings. */
  autoPong?: boolean;
}

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
}

let requestCounter = 0;

/** A real `ws` client that keeps every frame it receives and answers "what came back for this?". */
export class TestClient {
  readonly frames: Frame[] = [];
  private readonly consumed = new Set<Frame>();
  private waiters: Waiter[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame;
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) {
        if (!this.consumed.has(frame) && waiter.match(frame)) {
          this.consumed.add(frame);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          waiter.resolve(frame);
        }
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = openSocket(url, options);
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('unexpected-response', (_request, response) => {
        reject(new Error(`upgrade refused with ${response.statusCode}`));
        response.resume();
      });
      socket.once('error', reject);
    });
  }

  /** Sends a request and resolves with the frame that answers it (reply or error). */
  request(event: string, data?: unknown, timeoutMs?: number): Promise<Frame> {
    const id = `r${++requestCounter}`;
    const answer = this.next((frame) => frame.id === id, timeoutMs);
    this.socket.send(JSON.stringify({ event, id, data }));
    return answer;
  }

  /** A request that must succeed: resolves with the reply's data. */
  async ok<T = any>(event: string, data?: unknown): Promise<T> {
    const frame = await this.request(event, data);
    if (frame.event === 'error') throw new Error(`${event} failed: ${JSON.stringify(frame.data)}`);
    return frame.data as T;
  }

  /** A request that must fail: resolves with the error's data. */
  async error(event: string, data?: unknown, timeoutMs?: number): Promise<{ code: string; message: string; event?: string; details?: any[] }> {
    const frame = await this.request(event, data, timeoutMs);
    if (frame.event !== 'error') throw new Error(`${event} should have failed but answered ${JSON.stringify(frame)}`);
    return frame.data;
  }

  sendRaw(payload: string | Buffer, binary = false): void {
    this.socket.send(payload, { binary });
  }

  /** Stops reading from the TCP socket, like a client whose network or main thread stalls. */
  pauseReading(): void {
    (this.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resumeReading(): void {
    (this.socket as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  /** The first frame not yet taken that matches, already received or still to come. */
  next(match: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const found = this.frames.find((frame) => !this.consumed.has(frame) && match(frame));
    if (found) {
      this.consumed.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms; received: ${JSON.stringify(this.frames.slice(-10))}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** The next push (a frame without id) of this event, optionally for one room. */
  nextPush(event: string, room?: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.id === undefined && f.event === event && (room === undefined || f.data?.room === room), timeoutMs);
  }

  pushes(event: string, room?: string): Frame[] {
    return this.frames.filter((f) => f.id === undefined && f.event === event && (room === undefined || f.data?.room === room));
  }

  /** Lets in-flight frames arrive, e.g. before asserting that something did not. */
  settle(ms = 150): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close();
    return this.closed;
  }
}

function openSocket(url: string, { token, via = 'header', headers = {}, autoPong = true }: ConnectOptions): WebSocket {
  if (token && via === 'query') return new WebSocket(`${url}?access_token=${encodeURIComponent(token)}`, { headers, autoPong });
  if (token && typeof via === 'object') return new WebSocket(url, { headers: { ...headers, Cookie: `${via.cookie}=${token}` }, autoPong });
  return new WebSocket(url, { headers: token ? { ...headers, Authorization: `Bearer ${token}` } : headers, autoPong });
}

/** Attempts an upgrade that should be refused: resolves with the HTTP status and body. */
export function rejectedUpgrade(url: string, options: ConnectOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = openSocket(url, options);
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', () => undefined);
  });
}
