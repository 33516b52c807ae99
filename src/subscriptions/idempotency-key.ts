/**
 * A record's idempotency key, `basin/streamId/seqNum/stream`: the basin, the stream's row id (never reused,
 * so a stream deleted and created again under the same name, whose seqNums start at 0 again, gets keys of
 * its own), the seqNum and the stream's name (last, since a name may contain `/`). The same for a record
 * whatever instance or attempt handles it, and what `log.consumers.parked()` shows for a parked one.
 *
 * @example
 * idempotencyKey('default-basin', 42, 7, 'orders-1'); // 'default-basin/42/7/orders-1'
 */
export function idempotencyKey(basin: string, streamId: number, seqNum: number, stream: string): string {
  return `${basin}/${streamId}/${seqNum}/${stream}`;
}
