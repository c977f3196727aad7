// @ts-check
/**
 * Signing in: the server's settings for the page, development tokens by
 * name (`POST /dev/token`), and what survives a reload (sessionStorage:
 * per tab, gone with it).
 */

/**
 * @typedef {{ wsPath: string, devTokens: boolean }} PageSettings
 * @typedef {{ id: string, name: string }} Identity
 */

/** Thrown for a sign-in the user can fix; its message is shown as is. */
export class SignInError extends Error {}

/** @returns {Promise<PageSettings>} */
export async function fetchSettings() {
  const response = await fetch('/web-ui/settings');
  if (!response.ok) throw new Error(`the server answered ${response.status} to /web-ui/settings`);
  return response.json();
}

/** The WebSocket URL of the server that served this page. */
export function webSocketUrl(/** @type {string} */ wsPath) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${wsPath}`;
}

export const DEV_TOKENS_OFF =
  'This server does not hand out development tokens (DEV_TOKENS is off). Sign in with an access token instead, e.g. from "npm run -s token -- alice".';

/**
 * A short-lived token for `name` from the development endpoint.
 * @param {string} name
 * @returns {Promise<string>}
 */
export async function mintDevToken(name) {
  let response;
  try {
    response = await fetch('/dev/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name }),
    });
  } catch {
    throw new SignInError('The server cannot be reached.');
  }
  if (response.status === 404) throw new SignInError(DEV_TOKENS_OFF);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new SignInError(body.message ?? `The server refused the sign-in (HTTP ${response.status}).`);
  return body.token;
}

/**
 * Who a token is for (its `sub` and `name` claims), read without checking
 * the signature: the server does that.
 * @param {string} token
 * @returns {Identity}
 */
export function identityOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
    if (typeof claims.sub !== 'string') throw new Error('no sub');
    return { id: claims.sub, name: typeof claims.name === 'string' && claims.name ? claims.name : claims.sub };
  } catch {
    throw new SignInError('That is not an access token (a JWT with a "sub" claim).');
  }
}

const NAME_KEY = 'switchboard.name';
const ROOMS_KEY = 'switchboard.rooms';
const ACTIVE_KEY = 'switchboard.activeRoom';

/** What a reload restores: the name signed in with (not tokens), the joined rooms and the open one. */
export const saved = {
  get name() {
    return sessionStorage.getItem(NAME_KEY);
  },
  set name(/** @type {string | null} */ value) {
    if (value === null) sessionStorage.removeItem(NAME_KEY);
    else sessionStorage.setItem(NAME_KEY, value);
  },
  /** @returns {string[]} */
  get rooms() {
    try {
      const rooms = JSON.parse(sessionStorage.getItem(ROOMS_KEY) ?? '[]');
      return Array.isArray(rooms) ? rooms.filter((room) => typeof room === 'string') : [];
    } catch {
      return [];
    }
  },
  set rooms(/** @type {string[]} */ value) {
    sessionStorage.setItem(ROOMS_KEY, JSON.stringify(value));
  },
  get activeRoom() {
    return sessionStorage.getItem(ACTIVE_KEY);
  },
  set activeRoom(/** @type {string | null} */ value) {
    if (value === null) sessionStorage.removeItem(ACTIVE_KEY);
    else sessionStorage.setItem(ACTIVE_KEY, value);
  },
  clear() {
    for (const key of [NAME_KEY, ROOMS_KEY, ACTIVE_KEY]) sessionStorage.removeItem(key);
  },
};
