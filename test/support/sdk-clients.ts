import { WebSocket } from 'ws';
import {
  SwitchboardClient,
  type ClientEvents,
  type ClientOptions,
  type MessageView,
  type StateChange,
  type WebSocketConstructor,
} from '../../client/index.js';

/** What an SDK client passed on to the app, in order. */
export interface Recording {
  messages: MessageView[];
  states: StateChange[];
  errors: Error[];
}

export function record(client: SwitchboardClient): Recording {
  const recording: Recording = { messages: [], states: [], errors: [] };
  client.on('message', (message) => recording.messages.push(message));
  client.on('state', (change) => recording.states.push(change));
  client.on('error', (error) => recording.errors.push(error));
  return recording;
}

/** The next time the client emits `event` with a value that matches. */
export function nextEvent<E extends keyof ClientEvents>(
  client: SwitchboardClient,
  event: E,
  match: (value: ClientEvents[E]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<ClientEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${String(event)} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = client.on(event, (value) => {
      if (!match(value)) return;
      clearTimeout(timer);
      stop();
      resolve(value);
    });
  });
}

export interface TappedSocket {
  socket: WebSocket;
  url: string;
  headers?: Record<string, string>;
  /** Every frame the SDK sent on it. */
  sent: Array<{ event: string; id?: string; data?: Record<string, unknown> }>;
}

/**
 * A `ws` class for the SDK's `WebSocket` option that keeps each socket it
 * opens: a test can see how the SDK opened it and what it sent, and cut it.
 */
export function tappedWebSocket(): { WebSocket: WebSocketConstructor; sockets: TappedSocket[] } {
  const sockets: TappedSocket[] = [];
  class Tapped extends WebSocket {
    private readonly tap: TappedSocket;

    constructor(url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) {
      super(url, protocols, options);
      this.tap = { socket: this, url, headers: options?.headers, sent: [] };
      sockets.push(this.tap);
    }

    override send(data: string): void {
      this.tap.sent.push(JSON.parse(data));
      super.send(data);
    }
  }
  return { WebSocket: Tapped as unknown as WebSocketConstructor, sockets };
}

/** From now on, what arrives on the socket is lost before the SDK sees it: as if the connection had dropped it. */
export function deafen(socket: WebSocket): void {
  socket.onmessage = () => undefined;
}

/** SDK clients that are closed after each test. */
export function sdkClients(defaults: () => Partial<ClientOptions>) {
  const open: SwitchboardClient[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((client) => client.close()));
  });
  return {
    /** A client that is not connected yet. */
    create(options: Partial<ClientOptions>): SwitchboardClient {
      const client = new SwitchboardClient({ ...defaults(), ...options } as ClientOptions);
      open.push(client);
      return client;
    },
    async connect(options: Partial<ClientOptions>): Promise<SwitchboardClient> {
      const client = this.create(options);
      await client.connect();
      return client;
    },
  };
}
