// @ts-check
/**
 * One joined room on the page: its messages in `seq` order (live ones, older
 * pages loaded on scrolling up, the user's own sends shown at once and marked
 * pending until stored), who is in it and who is typing.
 */

/**
 * @typedef {import('../client/index.js').MessageView} MessageView
 * @typedef {import('../client/index.js').HistoryEntry} HistoryEntry
 * @typedef {import('../client/index.js').HistoryPage} HistoryPage
 * @typedef {import('../client/index.js').SendAck} SendAck
 * @typedef {import('../client/index.js').UserView} UserView
 * @typedef {import('./session.js').Identity} Identity
 */

/** Messages per history page. */
export const PAGE_SIZE = 30;
/** How long "… is typing" stays after the last `typing` push (senders repeat it every few seconds). */
const TYPING_SHOWN_MS = 4000;
/** Closer than this to the top loads older messages; closer to the bottom keeps following new ones. */
const EDGE_PX = 48;

export class RoomView {
  /** @type {Map<number, HTMLLIElement>} */
  #bySeq = new Map();
  /** Own messages not stored yet, by `clientMsgId`. */
  /** @type {Map<string, HTMLLIElement>} */
  #pending = new Map();
  /** @type {Map<string, string>} user id to name */
  #present = new Map();
  /** @type {Map<string, { name: string, timer: ReturnType<typeof setTimeout> }>} */
  #typing = new Map();
  #hasOlder = true;
  #loading = false;
  #followsNewest = true;
  unread = 0;

  /**
   * @param {string} room
   * @param {{
   *   me: Identity,
   *   fetchOlder: (before: number) => Promise<HistoryPage>,
   *   changed: () => void,
   *   failed: (what: string, error: unknown) => void,
   * }} options
   */
  constructor(room, options) {
    this.room = room;
    this.options = options;
    this.pane = element('div', { className: 'messages', role: 'log', tabIndex: 0, hidden: true });
    this.pane.setAttribute('aria-label', `Messages in ${room}`);
    this.olderButton = element('button', { type: 'button', className: 'older', textContent: 'Load older messages' });
    this.olderButton.addEventListener('click', () => void this.loadOlder());
    this.beginning = element('p', { className: 'beginning', textContent: `This is the beginning of ${room}.`, hidden: true });
    this.list = element('ol', { className: 'message-list' });
    this.pane.append(this.olderButton, this.beginning, this.list);
    this.pane.addEventListener('scroll', () => {
      this.#followsNewest = this.pane.scrollHeight - this.pane.scrollTop - this.pane.clientHeight < EDGE_PX;
      if (this.pane.scrollTop < EDGE_PX) void this.loadOlder();
    });
  }

  get visible() {
    return !this.pane.hidden;
  }

  show(/** @type {boolean} */ visible) {
    this.pane.hidden = !visible;
    if (visible) {
      this.unread = 0;
      if (this.#followsNewest) this.#scrollToNewest();
    }
  }

  /** Loads the page before `seq`, or before the oldest shown; nothing while a load runs or when the beginning is shown. */
  async loadOlder(before = this.#oldestSeq()) {
    if (this.#loading || !this.#hasOlder) return;
    if (before === undefined || before <= 1) return this.#reachedBeginning();
    this.#loading = true;
    this.olderButton.disabled = true;
    this.olderButton.textContent = 'Loading older messages…';
    try {
      const page = await this.options.fetchOlder(before);
      const fromBottom = this.pane.scrollHeight - this.pane.scrollTop;
      for (const entry of page.messages) this.#place(this.#entryItem(entry), entry.seq);
      // The messages in view stay where they were.
      if (!this.#followsNewest) this.pane.scrollTop = this.pane.scrollHeight - fromBottom;
      else this.#scrollToNewest();
      if (!page.hasMore) this.#reachedBeginning();
    } catch (error) {
      this.options.failed(`Older messages of ${this.room} could not be loaded`, error);
    } finally {
      this.#loading = false;
      this.olderButton.disabled = false;
      this.olderButton.textContent = 'Load older messages';
    }
  }

  /** A message pushed live or replayed after a reconnect; the user's own send, if shown as pending, becomes it. */
  addMessage(/** @type {MessageView} */ message) {
    if (this.#bySeq.has(message.seq)) return;
    const own = message.sender.id === this.options.me.id;
    const pending = own ? this.#pending.get(message.clientMsgId) : undefined;
    if (pending) {
      this.#pending.delete(message.clientMsgId);
      markStored(pending, message.sentAt);
      this.#place(pending, message.seq);
    } else {
      this.#place(this.#entryItem(message), message.seq);
      if (!this.visible) this.unread++;
    }
    this.#stopTyping(message.sender.id);
    if (this.#followsNewest || own) this.#scrollToNewest();
    this.options.changed();
  }

  /** Shows the user's own message at once, marked pending; `retry` sends it again with the same `clientMsgId`. */
  addPending(/** @type {string} */ clientMsgId, /** @type {string} */ text) {
    const item = messageItem(this.options.me, text, undefined, true);
    item.classList.add('pending');
    item.querySelector('.status')?.append('sending…');
    this.#pending.set(clientMsgId, item);
    this.list.append(item);
    this.#scrollToNewest();
  }

  /** The server stored it (unless its push came first and did this already). */
  acknowledge(/** @type {string} */ clientMsgId, /** @type {SendAck} */ ack) {
    const item = this.#pending.get(clientMsgId);
    if (!item) return;
    this.#pending.delete(clientMsgId);
    markStored(item, ack.sentAt);
    this.#place(item, ack.seq);
  }

  /** The send was refused: say why, and offer to send again. */
  sendFailed(/** @type {string} */ clientMsgId, /** @type {string} */ reason, /** @type {() => void} */ retry) {
    const item = this.#pending.get(clientMsgId);
    if (!item) return;
    item.classList.replace('pending', 'failed');
    const status = /** @type {HTMLElement} */ (item.querySelector('.status'));
    const again = element('button', { type: 'button', className: 'link', textContent: 'Send again' });
    again.addEventListener('click', () => {
      item.classList.replace('failed', 'pending');
      status.replaceChildren('sending…');
      retry();
    });
    status.replaceChildren(`not sent: ${reason} `, again);
  }

  edited(/** @type {{ seq: number, text: string, editedAt: string }} */ update) {
    const item = this.#bySeq.get(update.seq);
    if (!item) return;
    const text = item.querySelector('.text');
    if (text) text.textContent = update.text;
    item.querySelector('.edited')?.removeAttribute('hidden');
  }

  deleted(/** @type {number} */ seq) {
    const item = this.#bySeq.get(seq);
    if (item) item.replaceWith(this.#track(deletedItem(), seq));
  }

  /** The presence list as the server has it (after a join or a reconnect). */
  setPresent(/** @type {UserView[]} */ users) {
    this.#present = new Map(users.map((user) => [user.id, user.name]));
    this.options.changed();
  }

  joinedBy(/** @type {UserView} */ user) {
    this.#present.set(user.id, user.name);
    this.options.changed();
  }

  leftBy(/** @type {UserView} */ user) {
    this.#present.delete(user.id);
    this.#stopTyping(user.id);
    this.options.changed();
  }

  /** @returns {UserView[]} by name, the user first */
  get present() {
    const others = [...this.#present].filter(([id]) => id !== this.options.me.id).map(([id, name]) => ({ id, name }));
    return [this.options.me, ...others.sort((a, b) => a.name.localeCompare(b.name))];
  }

  typingBy(/** @type {UserView} */ user) {
    if (user.id === this.options.me.id) return;
    clearTimeout(this.#typing.get(user.id)?.timer);
    this.#typing.set(user.id, { name: user.name, timer: setTimeout(() => this.#stopTyping(user.id), TYPING_SHOWN_MS) });
    this.options.changed();
  }

  /** "alice is typing…", "alice and bob are typing…", or "" */
  get typingText() {
    const names = [...this.#typing.values()].map((typing) => typing.name).sort();
    if (names.length === 0) return '';
    if (names.length === 1) return `${names[0]} is typing…`;
    if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
    return `${names.length} people are typing…`;
  }

  dispose() {
    for (const { timer } of this.#typing.values()) clearTimeout(timer);
    this.pane.remove();
  }

  #stopTyping(/** @type {string} */ userId) {
    const typing = this.#typing.get(userId);
    if (!typing) return;
    clearTimeout(typing.timer);
    this.#typing.delete(userId);
    this.options.changed();
  }

  #reachedBeginning() {
    this.#hasOlder = false;
    this.olderButton.hidden = true;
    this.beginning.hidden = false;
  }

  #oldestSeq() {
    const first = this.list.querySelector('li[data-seq]');
    return first instanceof HTMLElement ? Number(first.dataset.seq) : undefined;
  }

  /** @param {HistoryEntry} entry */
  #entryItem(entry) {
    if ('deleted' in entry) return deletedItem();
    const item = messageItem(entry.sender, entry.text, entry.payload, entry.sender.id === this.options.me.id);
    markStored(item, entry.sentAt);
    if (entry.editedAt) item.querySelector('.edited')?.removeAttribute('hidden');
    return item;
  }

  /** Puts `item` at its place by `seq`: before every higher one and before the pending sends at the end. */
  #place(/** @type {HTMLLIElement} */ item, /** @type {number} */ seq) {
    if (this.#bySeq.has(seq)) return item.remove();
    this.#track(item, seq);
    let next = null;
    for (const other of this.list.children) {
      const otherSeq = /** @type {HTMLElement} */ (other).dataset.seq;
      if (other !== item && (otherSeq === undefined || Number(otherSeq) > seq)) {
        next = other;
        break;
      }
    }
    this.list.insertBefore(item, next);
  }

  #track(/** @type {HTMLLIElement} */ item, /** @type {number} */ seq) {
    item.dataset.seq = String(seq);
    this.#bySeq.set(seq, item);
    return item;
  }

  #scrollToNewest() {
    this.pane.scrollTop = this.pane.scrollHeight;
    this.#followsNewest = true;
  }
}

/**
 * @param {UserView} sender
 * @param {string | undefined} text
 * @param {Record<string, unknown> | undefined} payload
 * @param {boolean} own
 */
function messageItem(sender, text, payload, own) {
  const item = element('li', { className: own ? 'message own' : 'message' });
  const meta = element('div', { className: 'meta' });
  meta.append(
    element('span', { className: 'sender', textContent: own ? `${sender.name} (you)` : sender.name }),
    element('time', { className: 'time' }),
    element('span', { className: 'edited', textContent: '(edited)', hidden: true }),
    element('span', { className: 'status' }),
  );
  item.append(meta);
  if (text !== undefined) item.append(element('p', { className: 'text', textContent: text }));
  if (payload !== undefined) item.append(element('pre', { className: 'payload', textContent: JSON.stringify(payload, null, 2) }));
  return item;
}

function deletedItem() {
  return element('li', { className: 'message deleted', textContent: 'This message was deleted.' });
}

function markStored(/** @type {HTMLLIElement} */ item, /** @type {string} */ sentAt) {
  item.classList.remove('pending', 'failed');
  item.querySelector('.status')?.replaceChildren();
  const time = item.querySelector('time');
  if (!time) return;
  const date = new Date(sentAt);
  time.dateTime = sentAt;
  time.title = date.toLocaleString();
  time.textContent = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/**
 * `document.createElement` with properties.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Partial<HTMLElementTagNameMap[K]> & { role?: string }} [properties]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function element(tag, properties = {}) {
  const { role, ...rest } = properties;
  const created = Object.assign(document.createElement(tag), rest);
  if (role) created.setAttribute('role', role);
  return created;
}
