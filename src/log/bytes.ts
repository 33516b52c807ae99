import type { Bytes } from './types.js';

const encoder = new TextEncoder();
const EMPTY = Buffer.alloc(0);

/** Bytes as a Buffer: strings are encoded as UTF-8, Uint8Arrays are viewed without copying. */
export function toBuffer(value: Bytes | undefined): Buffer {
  if (value === undefined) return EMPTY;
  if (typeof value === 'string') return value.length === 0 ? EMPTY : Buffer.from(value, 'utf8');
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** The UTF-8 length of a string without encoding it into a new buffer when it is ASCII. */
export function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** Whether the bytes are valid UTF-8. */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export { encoder };
