/** Sizes fixed by the wire contract. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
export const ROOM_NAME_MAX_LENGTH = 128;
export const TEXT_MAX_LENGTH = 4000;
export const PAYLOAD_MAX_BYTES = 16 * 1024;
export const CLIENT_MSG_ID_MAX_LENGTH = 64;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 100;
/** Client request ids are echoed back; longer ones are refused rather than stored per request. */
export const REQUEST_ID_MAX_LENGTH = 128;
/** Objects and arrays nested deeper than this in a frame's `data` or a REST body are refused. */
export const MAX_NESTING_DEPTH = 32;
/** A token's `sub`, `name` and `tid`, and so a user id in the admin API (UTF-16 units, as the columns are sized). */
export const MAX_CLAIM_LENGTH = 255;
