import { emptyBatch, type EncodedBatch } from './encode-batch.js';

/**
 * Lays several encoded batches end to end as one, for one statement: bodies and headers concatenated, offsets
 * and trim positions shifted, the last fence's token kept.
 */
export function mergeBatches(batches: readonly EncodedBatch[]): EncodedBatch {
  if (batches.length === 1) return batches[0]!;
  const merged = emptyBatch(0, Buffer.concat(batches.map((b) => b.body)));
  let bodyBase = 0;
  for (const batch of batches) {
    const headerBase = merged.headers.length;
    for (let i = 0; i < batch.count; i++) {
      merged.bodyOffsets.push(batch.bodyOffsets[i]! + bodyBase);
      merged.headerOffsets.push(batch.headerOffsets[i]! + headerBase);
    }
    merged.bodyLengths.push(...batch.bodyLengths);
    merged.headers.push(...batch.headers);
    if (merged.headerText && batch.headerText) merged.headerText.push(...batch.headerText);
    else merged.headerText = null;
    merged.headerCounts.push(...batch.headerCounts);
    merged.timestamps.push(...batch.timestamps);
    merged.sizes.push(...batch.sizes);
    merged.utf8.push(...batch.utf8);
    merged.trimTargets.push(...batch.trimTargets);
    merged.trimPositions.push(...batch.trimPositions.map((p) => p + merged.count));
    merged.missingTimestamp ||= batch.missingTimestamp;
    merged.newToken = batch.newToken ?? merged.newToken;
    merged.meteredBytes += batch.meteredBytes;
    merged.count += batch.count;
    bodyBase += batch.body.length;
  }
  return merged;
}
