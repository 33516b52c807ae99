import { boolArray, intArray, textArray } from './array-literal.js';
import { toBuffer } from './bytes.js';
import { checkOptions, emptyBatch, encodeBatch, runningTotals, type EncodedBatch } from './encode-batch.js';
import { InvalidArgumentError } from './errors.js';
import { checkBasinName, checkStreamName } from './names.js';
import type { AppendManyItem, AppendManyOptions } from './append-many.js';
import type { Bytes } from './types.js';

/** At most this many streams in one `appendMany`. */
const MAX_STREAMS = 100;

/** An append to several streams, validated and laid out as the statement's parameters. @internal */
export interface EncodedRequest {
  count: number;
  batches: EncodedBatch[];
  basins: string[];
  names: string[];
  counts: number[];
  values: unknown[];
}

/**
 * Validates every item (names, limits, conditions) and lays the whole append out as parameters.
 *
 * @throws InvalidArgumentError naming the item, the rule and the value.
 * @internal
 */
export function encodeRequest(
  defaultBasin: string,
  items: readonly AppendManyItem[],
  options: AppendManyOptions,
): EncodedRequest {
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_STREAMS) {
    throw new InvalidArgumentError(
      `appendMany takes 1–${MAX_STREAMS} streams; got ${Array.isArray(items) ? items.length : typeof items}`,
    );
  }
  const commandId = options.commandId;
  if (
    commandId !== undefined &&
    (typeof commandId !== 'string' || commandId.length < 1 || commandId.length > 512)
  ) {
    throw new InvalidArgumentError(
      `commandId must be a string of 1–512 characters; got ${JSON.stringify(commandId)}`,
    );
  }
  const basins: string[] = [];
  const names: string[] = [];
  const seen = new Set<string>();
  const batches: EncodedBatch[] = [];
  items.forEach((item, i) => {
    if (item === null || typeof item !== 'object')
      throw new InvalidArgumentError(`appendMany item ${i} must be an object`);
    const basin = item.basin === undefined ? defaultBasin : checkBasinName(item.basin);
    const name = checkStreamName(item.stream);
    const key = `${basin}\u0000${name}`;
    if (seen.has(key)) {
      throw new InvalidArgumentError(
        `appendMany names stream ${JSON.stringify(name)} of basin ${basin} twice (item ${i})`,
      );
    }
    seen.add(key);
    let batch: EncodedBatch;
    const conditions = { matchSeqNum: item.matchSeqNum, fencingToken: item.fencingToken };
    try {
      // No records: a condition on the stream only (see AppendManyItem.records).
      if (Array.isArray(item.records) && item.records.length === 0) {
        checkOptions(conditions);
        batch = emptyBatch(0);
      } else batch = encodeBatch(item.records, conditions);
    } catch (error) {
      if (error instanceof InvalidArgumentError) {
        throw new InvalidArgumentError(
          `appendMany item ${i} (stream ${JSON.stringify(name)}): ${error.message}`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
    if (batch.newToken !== null || batch.trimTargets.length > 0) {
      throw new InvalidArgumentError(
        `appendMany item ${i}: command records (fence, trim) are not allowed here`,
      );
    }
    const stamped = batch.timestamps.findIndex((t) => t !== null);
    if (stamped >= 0) {
      throw new InvalidArgumentError(
        `appendMany item ${i} record ${stamped}: records are stamped on arrival and must not carry a timestamp`,
      );
    }
    basins.push(basin);
    names.push(name);
    batches.push(batch);
  });
  return {
    count: items.length,
    batches,
    basins,
    names,
    counts: batches.map((b) => b.count),
    values: parameters(items, basins, names, batches, commandId),
  };
}

function parameters(
  items: readonly AppendManyItem[],
  basins: string[],
  names: string[],
  batches: EncodedBatch[],
  commandId: string | undefined,
): unknown[] {
  const streamOrds: number[] = [];
  const bodyOffsets: number[] = [];
  const bodyLengths: number[] = [];
  const headerOffsets: number[] = [];
  const headerCounts: number[] = [];
  const sizes: number[] = [];
  const utf8: boolean[] = [];
  const text = batches.every((b) => b.headerText !== null);
  const headers: Bytes[] = [];
  const bodies: Buffer[] = [];
  let bodyBase = 0;
  batches.forEach((batch, s) => {
    const headerBase = headers.length;
    for (let r = 0; r < batch.count; r++) {
      streamOrds.push(s + 1);
      bodyOffsets.push(bodyBase + batch.bodyOffsets[r]!);
      bodyLengths.push(batch.bodyLengths[r]!);
      headerOffsets.push(headerBase + batch.headerOffsets[r]!);
      headerCounts.push(batch.headerCounts[r]!);
      sizes.push(batch.sizes[r]!);
      utf8.push(batch.utf8[r]!);
    }
    if (text) headers.push(...batch.headerText!);
    else headers.push(...batch.headers);
    bodies.push(batch.body);
    bodyBase += batch.body.length;
  });
  return [
    basins,
    names,
    intArray(items.map((i) => i.matchSeqNum ?? null)),
    items.map((i) => i.fencingToken ?? null),
    intArray(batches.map((b) => b.count)),
    intArray(streamOrds),
    intArray(bodyOffsets),
    intArray(bodyLengths),
    intArray(headerOffsets),
    intArray(headerCounts),
    intArray(sizes),
    boolArray(utf8),
    bodies.length === 1 ? bodies[0] : Buffer.concat(bodies),
    text ? textArray(headers as string[]) : null,
    text ? null : headers.map(toBuffer),
    commandId ?? null,
    intArray(batches.flatMap((b) => runningTotals(b.sizes))),
  ];
}
