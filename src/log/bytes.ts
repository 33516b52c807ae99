import type { Bytes } from './types.js';

const EMPTY = Buffer.alloc(0);

/** Bytes as a Buffer: strings are encoded as UTF-8, Uint8Arrays are viewed without copying. */
export function toBuffer(value: Bytes | undefined): Buffer {
  if (value === undefined) return EMPTY;
  if (typeof value === 'string') return value.length === 0 ? EMPTY : Buffer.from(value, 'utf8');
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
