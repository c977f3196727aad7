export * from './error-codes.js';
export * from './events.js';
export * from './wire.js';
export type * from './event-map.js';
export * from './limits.js';
export * from './validators.js';
