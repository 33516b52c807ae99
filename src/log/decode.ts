import type { ReadAs, SequencedRecord } from './types.js';

/** A stored record as the caller asked for it: strings (UTF-8, invalid bytes replaced) or bytes. */
export function decodeRecord<A extends ReadAs>(
  record: SequencedRecord<Buffer>,
  as: A | undefined,
): SequencedRecord<A extends 'bytes' ? Uint8Array : string> {
  if (as === 'bytes') return record as never;
  return {
    seqNum: record.seqNum,
    timestamp: record.timestamp,
    headers: record.headers.map(([name, value]) => [name.toString('utf8'), value.toString('utf8')]),
    body: record.body.toString('utf8'),
  } as never;
}
