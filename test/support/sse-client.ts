import { request, type IncomingMessage } from 'node:http';
import { waitUntil } from './wait.js';

/** One Server-Sent Event as a browser's EventSource would dispatch it. */
export interface SseEvent {
  event: string;
  /** The `id:` field of this event, when it had one. */
  id?: string;
  data: any;
}

export interface SseOptions {
  token?: string;
  /** Where the token goes: the Authorization header (default), the query string or a cookie. */
  via?: 'header' | 'query' | { cookie: string };
  lastEventId?: string;
}

/**
 * A real HTTP client reading an event stream (Node's http module): it keeps
 * every event and comment. A refused stream resolves too, with its status and
 * JSON body.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  /** Comment lines (`: ...`), heartbeats among them. */
  readonly comments: string[] = [];
  /** Resolves when the server ends the stream (or it breaks). */
  readonly ended: Promise<void>;
  body: any;
  private buffer = '';

  private constructor(
    readonly status: number,
    readonly headers: IncomingMessage['headers'],
    private readonly response: IncomingMessage,
  ) {
    response.setEncoding('utf8');
    this.ended = new Promise((resolve) => {
      response.once('end', resolve);
      response.once('close', resolve);
      response.once('error', resolve);
    });
    if (status !== 200) {
      let text = '';
      response.on('data', (chunk: string) => (text += chunk));
      response.once('end', () => (this.body = text ? JSON.parse(text) : undefined));
      return;
    }
    response.on('data', (chunk: string) => this.receive(chunk));
  }

  /** Opens `path` (with its query) on `baseUrl`; resolves once the response headers are in. */
  static open(baseUrl: string, path: string, options: SseOptions = {}): Promise<SseClient> {
    const { token, via = 'header', lastEventId } = options;
    const url = new URL(path, baseUrl);
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (token && via === 'query') url.searchParams.set('access_token', token);
    else if (token && typeof via === 'object') headers.Cookie = `${via.cookie}=${token}`;
    else if (token) headers.Authorization = `Bearer ${token}`;
    if (lastEventId !== undefined) headers['Last-Event-ID'] = lastEventId;
    return new Promise((resolve, reject) => {
      const outgoing = request(url, { headers }, (response) => resolve(new SseClient(response.statusCode ?? 0, response.headers, response)));
      outgoing.once('error', reject);
      outgoing.end();
    });
  }

  /** The events of one type, in order. */
  of(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Waits until `count` events of this type have arrived; returns them. */
  async waitFor(event: string, count = 1, timeoutMs = 5000): Promise<SseEvent[]> {
    await waitUntil(() => this.of(event).length >= count, timeoutMs);
    return this.of(event);
  }

  /** Waits for the server to end the stream. */
  async waitForEnd(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the stream did not end within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.ended, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lets in-flight events arrive, before asserting that something did not. */
  settle(ms = 150): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Stops reading from the TCP socket, like a client that stalls. */
  pauseReading(): void {
    this.response.socket.pause();
  }

  resumeReading(): void {
    this.response.socket.resume();
  }

  close(): void {
    this.response.destroy();
  }

  /** The parsing rules of the HTML spec's event stream interpretation (UTF-8, LF line ends as the server writes them). */
  private receive(chunk: string): void {
    this.buffer += chunk;
    let blank: number;
    while ((blank = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, blank);
      this.buffer = this.buffer.slice(blank + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'id') id = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) this.events.push({ event, id, data: JSON.parse(data.join('\n')) });
    }
  }
}
