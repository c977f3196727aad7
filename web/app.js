// @ts-check
/**
 * The chat page: sign in, then rooms, messages, presence and typing through
 * the client SDK, which reconnects, resumes and de-duplicates by itself; the
 * page renders what it emits. Served by the server when WEB_UI is on, with
 * the SDK at /client/ (this file's `../client/` is that folder, both here and
 * in the repository, where TypeScript checks this file against the SDK's types).
 */
import { SwitchboardClient, SwitchboardError } from '../client/index.js';
import { PAGE_SIZE, RoomView, element } from './room-view.js';
import { DEV_TOKENS_OFF, SignInError, fetchSettings, identityOf, mintDevToken, saved, webSocketUrl } from './session.js';

/**
 * @typedef {import('../client/index.js').StateChange} StateChange
 * @typedef {import('../client/index.js').TokenSource} TokenSource
 * @typedef {import('./session.js').Identity} Identity
 * @typedef {import('./session.js').PageSettings} PageSettings
 */

/** Offered in the room list before the user joins anything else. */
const SUGGESTED_ROOMS = ['general', 'random'];
/** `typing` is sent at most this often while the user types. */
const TYPING_EVERY_MS = 2500;
/** A send waits this long for its ack, reconnects included, before it is shown as failed. */
const SEND_TIMEOUT_MS = 60_000;
const NOTICE_SHOWN_MS = 10_000;

const page = {
  connection: byId('connection'),
  reconnect: /** @type {HTMLButtonElement} */ (byId('reconnect')),
  account: byId('account'),
  accountName: byId('account-name'),
  signOut: byId('sign-out'),
  signInView: byId('sign-in-view'),
  nameForm: /** @type {HTMLFormElement} */ (byId('name-form')),
  tokenForm: /** @type {HTMLFormElement} */ (byId('token-form')),
  noDevTokens: byId('no-dev-tokens'),
  signInError: byId('sign-in-error'),
  chatView: byId('chat-view'),
  roomList: byId('room-list'),
  joinForm: /** @type {HTMLFormElement} */ (byId('join-form')),
  roomTitle: byId('room-title'),
  panes: byId('message-panes'),
  typing: byId('typing'),
  composer: /** @type {HTMLFormElement} */ (byId('composer')),
  messageInput: /** @type {HTMLTextAreaElement} */ (byId('message-input')),
  presenceList: byId('presence-list'),
  notices: byId('notices'),
};

/** One signed-in user's client and rooms, from sign-in to sign-out. */
class ChatSession {
  /** @type {Map<string, RoomView>} */
  views = new Map();
  /** Rooms whose join the server answered (the SDK rejoins those after reconnects). */
  joined = new Set();
  /** @type {string | null} */
  active = null;
  lastTypingSent = 0;

  /**
   * @param {SwitchboardClient} client
   * @param {Identity} me
   */
  constructor(client, me) {
    this.client = client;
    this.me = me;
    client.on('state', (change) => this.stateChanged(change));
    client.on('error', (error) => {
      // While not connected the connection line says what failed.
      if (client.state === 'open') notice(error.message);
    });
    client.on('message', (message) => this.views.get(message.room)?.addMessage(message));
    client.on('message.updated', (update) => this.views.get(update.room)?.edited(update));
    client.on('message.deleted', ({ room, seq }) => this.views.get(room)?.deleted(seq));
    client.on('presence.join', ({ room, user }) => this.views.get(room)?.joinedBy(user));
    client.on('presence.leave', ({ room, user }) => this.views.get(room)?.leftBy(user));
    client.on('typing', ({ room, user }) => this.views.get(room)?.typingBy(user));
    client.on('room.removed', ({ room, reason }) => {
      notice(reason === 'archived' ? `The room ${room} was archived.` : `You may no longer be in ${room}.`);
      this.removeRoom(room);
    });
  }

  /** Joins the rooms (they wait for the connection) and connects. */
  start(/** @type {string[]} */ rooms, /** @type {string | null} */ activeRoom) {
    for (const room of rooms) void this.join(room);
    this.open(activeRoom && this.views.has(activeRoom) ? activeRoom : rooms[0] ?? null);
    this.client.connect().catch(() => {
      // Closed for good before a connection opened: the connection line says why.
    });
  }

  /** After a close for good: connects again and rejoins what the SDK forgot. */
  async reconnect() {
    await this.client.connect();
    for (const room of this.views.keys()) if (!this.joined.has(room)) void this.join(room);
  }

  async join(/** @type {string} */ room) {
    let view = this.views.get(room);
    if (!view) {
      view = new RoomView(room, {
        me: this.me,
        fetchOlder: (before) => this.client.history(room, { before, limit: PAGE_SIZE }),
        changed: () => this.render(),
        failed: (what, error) => notice(`${what}: ${describe(error)}`),
      });
      this.views.set(room, view);
      page.panes.append(view.pane);
      this.saveRooms();
      this.render();
    }
    try {
      // No timeout: a join made while reconnecting happens once connected.
      const { lastSeq } = await this.client.join(room, { timeoutMs: 0 });
      this.joined.add(room);
      await Promise.all([view.loadOlder(lastSeq + 1), this.refreshPresence(room)]);
    } catch (error) {
      if (error instanceof SwitchboardError && error.code === 'CLOSED') return;
      notice(`Could not join ${room}: ${describe(error)}`);
      this.removeRoom(room);
    }
  }

  async leave(/** @type {string} */ room) {
    this.removeRoom(room);
    await this.client.leave(room).catch((error) => notice(`Could not leave ${room}: ${describe(error)}`));
  }

  removeRoom(/** @type {string} */ room) {
    this.views.get(room)?.dispose();
    this.views.delete(room);
    this.joined.delete(room);
    this.saveRooms();
    if (this.active === room) this.open(this.views.keys().next().value ?? null);
    else this.render();
  }

  open(/** @type {string | null} */ room) {
    this.active = room;
    saved.activeRoom = room;
    for (const [name, view] of this.views) view.show(name === room);
    this.render();
  }

  send(/** @type {string} */ text) {
    const room = this.active;
    const view = room && this.views.get(room);
    if (!room || !view) return;
    const clientMsgId = newClientMsgId();
    view.addPending(clientMsgId, text);
    // Sent again, with the same clientMsgId, by "Send again": stored once whatever happened to the first.
    const send = () =>
      this.client.send(room, text, { clientMsgId, timeoutMs: SEND_TIMEOUT_MS }).then(
        (ack) => view.acknowledge(clientMsgId, ack),
        (error) => view.sendFailed(clientMsgId, describe(error), send),
      );
    void send();
    this.lastTypingSent = 0;
  }

  typing() {
    const room = this.active;
    if (!room || this.client.state !== 'open' || Date.now() - this.lastTypingSent < TYPING_EVERY_MS) return;
    this.lastTypingSent = Date.now();
    this.client.typing(room).catch(() => {
      // Typing is a hint: a lost one does not matter.
    });
  }

  async refreshPresence(/** @type {string} */ room) {
    try {
      const { users } = await this.client.presence(room);
      this.views.get(room)?.setPresent(users);
    } catch (error) {
      notice(`Who is in ${room} could not be loaded: ${describe(error)}`);
    }
  }

  /** @param {StateChange} change */
  stateChanged(change) {
    showConnection(change);
    // Presence pushes missed while away: ask again.
    if (change.state === 'open' && change.resumed) for (const room of this.joined) void this.refreshPresence(room);
  }

  saveRooms() {
    saved.rooms = [...this.views.keys()];
  }

  render() {
    const rooms = [...new Set([...this.views.keys(), ...SUGGESTED_ROOMS])];
    // The list is rebuilt on every change: a keyboard user's focus in it stays on the same button.
    const focused = page.roomList.contains(document.activeElement) ? /** @type {HTMLElement} */ (document.activeElement).dataset.key : undefined;
    page.roomList.replaceChildren(...rooms.map((room) => this.roomItem(room)));
    if (focused) /** @type {HTMLElement | null} */ (page.roomList.querySelector(`[data-key="${CSS.escape(focused)}"]`))?.focus();
    const view = this.active ? this.views.get(this.active) : undefined;
    page.roomTitle.textContent = view ? view.room : 'No room open';
    page.typing.textContent = view?.typingText ?? '';
    page.presenceList.replaceChildren(
      ...(view?.present ?? []).map((user) =>
        element('li', { textContent: user.id === this.me.id ? `${user.name} (you)` : user.name }),
      ),
    );
    for (const control of page.composer.elements) /** @type {HTMLButtonElement} */ (control).disabled = !view;
  }

  roomItem(/** @type {string} */ room) {
    const view = this.views.get(room);
    const item = element('li', { className: view ? 'room joined' : 'room' });
    const button = element('button', { type: 'button', className: 'room-button', textContent: room });
    button.dataset.key = `open ${room}`;
    if (room === this.active) button.setAttribute('aria-current', 'true');
    if (!view) button.append(element('span', { className: 'hint', textContent: ' (join)' }));
    if (view && view.unread > 0) {
      const badge = element('span', { className: 'badge', textContent: String(view.unread) });
      badge.append(element('span', { className: 'visually-hidden', textContent: ' unread' }));
      button.append(' ', badge);
    }
    button.addEventListener('click', () => {
      if (!this.views.has(room)) void this.join(room);
      this.open(room);
      page.messageInput.focus();
    });
    item.append(button);
    if (view) {
      const leave = element('button', { type: 'button', className: 'leave', textContent: '×', title: `Leave ${room}` });
      leave.setAttribute('aria-label', `Leave ${room}`);
      leave.dataset.key = `leave ${room}`;
      leave.addEventListener('click', () => void this.leave(room));
      item.append(leave);
    }
    return item;
  }

  async stop() {
    for (const view of this.views.values()) view.dispose();
    await this.client.close();
  }
}

/** @type {ChatSession | null} */
let session = null;

/** @param {StateChange} change */
function showConnection(change) {
  page.connection.dataset.state = change.state;
  page.reconnect.hidden = change.state !== 'closed';
  const why = 'reason' in change && change.reason ? change.reason : 'the connection was lost';
  const code = 'closeCode' in change && change.closeCode !== undefined ? `, code ${change.closeCode}` : '';
  switch (change.state) {
    case 'connecting':
      page.connection.textContent =
        change.attempt === 0 ? 'Connecting…' : `Cannot connect (${why}${code}). Trying again in ${seconds(change.delayMs)}, attempt ${change.attempt}.`;
      break;
    case 'reconnecting':
      page.connection.textContent = `Reconnecting (${why}${code}): next attempt in ${seconds(change.delayMs)}, attempt ${change.attempt}.`;
      break;
    case 'open':
      page.connection.textContent = change.resumed ? 'Connected again' : 'Connected';
      break;
    case 'closed':
      page.connection.textContent = `Disconnected: ${why}${code}.`;
      break;
  }
}

/**
 * @param {Identity} me
 * @param {TokenSource} tokens
 * @param {PageSettings} settings
 */
function startSession(me, tokens, settings) {
  const client = new SwitchboardClient({ url: webSocketUrl(settings.wsPath), ...tokens });
  session = new ChatSession(client, me);
  page.accountName.textContent = me.name;
  page.account.hidden = false;
  page.signInView.hidden = true;
  page.chatView.hidden = false;
  page.signInError.textContent = '';
  const rooms = saved.rooms;
  session.start(rooms.length > 0 ? rooms : [SUGGESTED_ROOMS[0]], saved.activeRoom);
  page.messageInput.focus();
}

/** @param {string} name @param {PageSettings} settings */
async function signInWithName(name, settings) {
  const firstToken = await mintDevToken(name);
  /** @type {string | undefined} */
  let unused = firstToken;
  const getToken = async () => {
    const token = unused ?? (await mintDevToken(name));
    unused = undefined;
    return token;
  };
  saved.name = name;
  startSession(identityOf(firstToken), { getToken }, settings);
}

async function signOut() {
  const ending = session;
  session = null;
  saved.clear();
  page.chatView.hidden = true;
  page.account.hidden = true;
  page.signInView.hidden = false;
  page.connection.dataset.state = 'idle';
  page.connection.textContent = 'Not signed in';
  page.reconnect.hidden = true;
  await ending?.stop();
  /** @type {HTMLInputElement} */ (page.nameForm.elements.namedItem('name')).focus();
}

/** Runs a sign-in, showing what went wrong in the form. */
async function signingIn(/** @type {() => Promise<void>} */ attempt) {
  page.signInError.textContent = '';
  try {
    await attempt();
  } catch (error) {
    page.signInError.textContent = error instanceof SignInError ? error.message : `Sign-in failed: ${describe(error)}`;
    if (error instanceof SignInError && error.message === DEV_TOKENS_OFF) offerTokenSignIn();
  }
}

/** Without development tokens, an access token is the way in. */
function offerTokenSignIn() {
  page.nameForm.hidden = true;
  page.noDevTokens.hidden = false;
}

async function main() {
  /** @type {PageSettings} */
  let settings;
  try {
    settings = await fetchSettings();
  } catch (error) {
    page.signInError.textContent = `The page cannot start: ${describe(error)}`;
    return;
  }
  if (!settings.devTokens) offerTokenSignIn();

  page.nameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = /** @type {HTMLInputElement} */ (page.nameForm.elements.namedItem('name')).value.trim();
    void signingIn(() => signInWithName(name, settings));
  });
  page.tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = /** @type {HTMLTextAreaElement} */ (page.tokenForm.elements.namedItem('token')).value.trim();
    void signingIn(async () => startSession(identityOf(token), { token }, settings));
  });
  page.signOut.addEventListener('click', () => void signOut());
  page.reconnect.addEventListener('click', () => void session?.reconnect().catch(() => {}));
  page.joinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ (page.joinForm.elements.namedItem('room'));
    const room = input.value.trim();
    if (!session || !room) return;
    if (!session.views.has(room)) void session.join(room);
    session.open(room);
    input.value = '';
    page.messageInput.focus();
  });
  page.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = page.messageInput.value.trim();
    if (!session || !text) return;
    session.send(text);
    page.messageInput.value = '';
  });
  page.messageInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      page.composer.requestSubmit();
    }
  });
  page.messageInput.addEventListener('input', () => session?.typing());

  // A reload signs the same name in again, into the same rooms.
  const name = saved.name;
  if (settings.devTokens && name) await signingIn(() => signInWithName(name, settings));
}

function notice(/** @type {string} */ text) {
  const item = element('p', { className: 'notice', textContent: text });
  const dismiss = element('button', { type: 'button', className: 'link', textContent: 'Dismiss' });
  dismiss.addEventListener('click', () => item.remove());
  item.append(' ', dismiss);
  page.notices.append(item);
  setTimeout(() => item.remove(), NOTICE_SHOWN_MS);
}

function describe(/** @type {unknown} */ error) {
  return error instanceof Error ? error.message : String(error);
}

function seconds(/** @type {number} */ ms) {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/** 128 random bits in hex (`crypto.randomUUID` needs a secure context, which a plain-HTTP page on a LAN address is not). */
function newClientMsgId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function byId(/** @type {string} */ id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}

void main();
