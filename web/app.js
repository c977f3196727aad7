// The chat page: everything real-time goes through the client SDK (/client/), which
// reconnects, resumes with `since`, drops duplicates and resends unacknowledged sends.
import { connect } from '/client/index.js';

const $ = (id) => document.getElementById(id);
const DEFAULT_ROOMS = ['general', 'random'];
const NAME_KEY = 'switchboard.name';
const ROOM_KEY = 'switchboard.room';
const PAGE = 50;
const TYPING_SHOWN_MS = 3000;
const TYPING_EVERY_MS = 2000;

let client;
let connectionState = 'idle';
let me;
let current = null;
let lastTyping = 0;
/** Per room: rendered messages by seq, own sends waiting for their ack, paging, presence, typists. */
const rooms = new Map();

function roomState(name) {
  if (!rooms.has(name)) {
    rooms.set(name, { joined: false, messages: new Map(), pending: new Map(), oldest: null, hasMore: false, loading: false, presence: new Map(), typists: new Map() });
  }
  return rooms.get(name);
}

async function mintToken(name) {
  const response = await fetch('/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }) });
  if (response.status === 404) throw new Error('Sign-in uses the development token endpoint: start the server with DEV_TOKENS=true.');
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message ?? `Sign-in failed (HTTP ${response.status}).`);
  return body.token;
}

const STATE_TEXT = {
  idle: () => 'Not connected',
  connecting: () => 'Connecting…',
  open: (change) => (change.resumed ? 'Reconnected' : 'Connected'),
  reconnecting: (change) =>
    `Reconnecting${change.attempt ? ` (attempt ${change.attempt + 1})` : ''}…${change.reason ? ` — ${change.reason}` : ''}`,
  closed: (change) => `Disconnected${change.reason ? `: ${change.reason}` : ''}`,
};

function showState(change) {
  connectionState = change.state;
  const status = $('connection');
  status.dataset.state = change.state;
  status.textContent = STATE_TEXT[change.state](change);
  updateCompose();
}

/** Writing is possible in a room while connected; sends made while reconnecting would wait anyway. */
function updateCompose() {
  const usable = connectionState === 'open' && current !== null;
  $('text').disabled = !usable;
  $('compose').querySelector('button').disabled = !usable;
}

async function signIn(name) {
  const first = await mintToken(name);
  let fresh = first;
  client = await connect({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
    // The first token was just minted; later connections and refreshes get new ones.
    getToken: async () => {
      const token = fresh ?? (await mintToken(name));
      fresh = undefined;
      return token;
    },
  });
  me = name;
  sessionStorage.setItem(NAME_KEY, name);
  client.on('state', showState);
  client.on('message', onMessage);
  client.on('message.updated', (update) => {
    const entry = roomState(update.room).messages.get(update.seq);
    if (entry) Object.assign(entry, { text: update.text, editedAt: update.editedAt });
    if (update.room === current) renderMessages();
  });
  client.on('message.deleted', ({ room, seq }) => {
    roomState(room).messages.set(seq, { room, seq, deleted: true });
    if (room === current) renderMessages();
  });
  client.on('presence.join', ({ room, user }) => {
    roomState(room).presence.set(user.id, user.name);
    if (room === current) renderPresence();
  });
  client.on('presence.leave', ({ room, user }) => {
    roomState(room).presence.delete(user.id);
    if (room === current) renderPresence();
  });
  client.on('typing', ({ room, user }) => {
    const state = roomState(room);
    clearTimeout(state.typists.get(user.id)?.timer);
    const timer = setTimeout(() => {
      state.typists.delete(user.id);
      if (room === current) renderTyping();
    }, TYPING_SHOWN_MS);
    state.typists.set(user.id, { name: user.name, timer });
    if (room === current) renderTyping();
  });
  client.on('room.removed', ({ room, reason }) => {
    roomState(room).joined = false;
    if (room === current) $('typing').textContent = `You were removed from ${room} (${reason}).`;
  });
  showState({ state: 'open', resumed: false });
  $('who').textContent = `Signed in as ${name}`;
  $('who').hidden = false;
  $('sign-in').hidden = true;
  $('chat').hidden = false;
  renderRooms();
  await openRoom(sessionStorage.getItem(ROOM_KEY) ?? DEFAULT_ROOMS[0]);
}

function onMessage(message) {
  const state = roomState(message.room);
  const pending = state.pending.get(message.clientMsgId);
  if (pending && message.sender.id === me) state.pending.delete(message.clientMsgId);
  state.messages.set(message.seq, message);
  if (message.room === current) renderMessages({ follow: true });
}

async function openRoom(name) {
  current = name;
  sessionStorage.setItem(ROOM_KEY, name);
  const state = roomState(name);
  $('room-title').textContent = `# ${name}`;
  renderRooms();
  renderMessages();
  if (!state.joined) {
    await client.join(name);
    state.joined = true;
    const [page, presence] = await Promise.all([client.history(name, { limit: PAGE }), client.presence(name)]);
    addPage(state, page);
    state.presence = new Map(presence.users.map((user) => [user.id, user.name]));
  }
  renderMessages({ follow: true });
  renderPresence();
  renderTyping();
  updateCompose();
  $('text').focus();
}

function addPage(state, page) {
  for (const entry of page.messages) if (!state.messages.has(entry.seq)) state.messages.set(entry.seq, entry);
  const seqs = page.messages.map((entry) => entry.seq);
  if (seqs.length > 0) state.oldest = Math.min(state.oldest ?? Infinity, ...seqs);
  state.hasMore = page.hasMore;
}

/** Older messages when the list is scrolled to its top. */
async function loadOlder() {
  const state = roomState(current);
  if (!state.hasMore || state.loading || state.oldest === null) return;
  state.loading = true;
  const list = $('messages');
  const before = list.scrollHeight;
  try {
    addPage(state, await client.history(current, { before: state.oldest, limit: PAGE }));
    renderMessages();
    list.scrollTop = list.scrollHeight - before;
  } finally {
    state.loading = false;
  }
}

function messageItem(entry) {
  const item = document.createElement('li');
  item.dataset.seq = String(entry.seq ?? '');
  if (entry.deleted) {
    item.className = 'deleted';
    item.textContent = 'message deleted';
    return item;
  }
  const sender = document.createElement('span');
  sender.className = 'sender';
  sender.textContent = entry.sender.name;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = entry.text ?? JSON.stringify(entry.payload);
  item.append(sender, text);
  if (entry.sentAt) {
    const time = document.createElement('time');
    time.dateTime = entry.sentAt;
    time.textContent = new Date(entry.sentAt).toLocaleTimeString() + (entry.editedAt ? ' (edited)' : '');
    item.append(time);
  }
  if (entry.pending) item.classList.add('pending');
  return item;
}

function renderMessages({ follow = false } = {}) {
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const state = current ? roomState(current) : null;
  const entries = state ? [...state.messages.values()].sort((a, b) => a.seq - b.seq) : [];
  const pending = state ? [...state.pending.values()] : [];
  list.replaceChildren(...entries.map(messageItem), ...pending.map(messageItem));
  if (follow && (atBottom || pending.length > 0)) list.scrollTop = list.scrollHeight;
}

function renderRooms() {
  const names = [...new Set([...DEFAULT_ROOMS, ...rooms.keys()])];
  $('rooms').replaceChildren(
    ...names.map((name) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = `# ${name}`;
      button.setAttribute('aria-current', String(name === current));
      button.addEventListener('click', () => openRoom(name).catch(showError));
      item.append(button);
      return item;
    }),
  );
}

function renderPresence() {
  const state = roomState(current);
  $('presence').replaceChildren(
    ...[...state.presence.entries()].map(([id, name]) => {
      const item = document.createElement('li');
      item.textContent = id === me ? `${name} (you)` : name;
      return item;
    }),
  );
}

function renderTyping() {
  const names = [...roomState(current).typists.values()].map((typist) => typist.name);
  $('typing').textContent = names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

function showError(error) {
  $('typing').textContent = error.message;
}

async function send(text) {
  const room = current;
  const state = roomState(room);
  const clientMsgId = crypto.randomUUID();
  state.pending.set(clientMsgId, { room, pending: true, text, sender: { id: me, name: me } });
  renderMessages({ follow: true });
  try {
    await client.send(room, { text }, { clientMsgId });
  } catch (error) {
    state.pending.delete(clientMsgId);
    renderMessages();
    showError(error);
  }
}

$('sign-in').addEventListener('submit', (event) => {
  event.preventDefault();
  const error = $('sign-in-error');
  error.hidden = true;
  signIn($('name').value.trim()).catch((failure) => {
    error.textContent = failure.message;
    error.hidden = false;
  });
});

$('join').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('room-name').value.trim();
  $('room-name').value = '';
  openRoom(name).catch(showError);
});

$('compose').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text || !current) return;
  $('text').value = '';
  send(text);
});

$('text').addEventListener('input', () => {
  if (!current || Date.now() - lastTyping < TYPING_EVERY_MS) return;
  lastTyping = Date.now();
  client.typing(current).catch(() => undefined);
});

$('messages').addEventListener('scroll', () => {
  if ($('messages').scrollTop === 0) loadOlder().catch(showError);
});

// A reload keeps the session's name (and room): sign in again at once.
const remembered = sessionStorage.getItem(NAME_KEY);
if (remembered) {
  $('name').value = remembered;
  signIn(remembered).catch((failure) => {
    $('sign-in-error').textContent = failure.message;
    $('sign-in-error').hidden = false;
  });
}
