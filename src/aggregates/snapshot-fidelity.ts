import { isDeepStrictEqual } from 'node:util';

/**
 * Where a state read back from its snapshot (through JSON, the snapshot schema and the aggregate's
 * `fromSnapshot`) differs from the state that was stored: a path such as `state.limits`, or undefined when it
 * is the same. A `Map`, a `Set`, a class instance, a `Date` that no schema revives, `NaN`: JSON holds none of
 * them as they are, and a snapshot that stored them would load as another state. Properties whose value is
 * `undefined` count as absent (JSON drops them). Internal.
 */
export function snapshotDifference(stored: unknown, back: unknown, path = 'state'): string | undefined {
  if (Object.is(stored, back)) return undefined;
  if (typeof stored !== 'object' || stored === null || typeof back !== 'object' || back === null) return path;
  if (Object.getPrototypeOf(stored) !== Object.getPrototypeOf(back)) return path;
  if (Array.isArray(stored)) {
    const other = back as unknown[];
    if (stored.length !== other.length) return path;
    for (let i = 0; i < stored.length; i++) {
      const difference = snapshotDifference(stored[i], other[i], `${path}[${i}]`);
      if (difference) return difference;
    }
    return undefined;
  }
  if (stored instanceof Date || stored instanceof Map || stored instanceof Set) {
    return isDeepStrictEqual(stored, back) ? undefined : path;
  }
  const a = stored as Record<string, unknown>;
  const b = back as Record<string, unknown>;
  const keys = Object.keys(a).filter((key) => a[key] !== undefined);
  const others = Object.keys(b).filter((key) => b[key] !== undefined);
  if (keys.length !== others.length) {
    const missing = keys.find((key) => b[key] === undefined) ?? others.find((key) => a[key] === undefined);
    return `${path}.${missing ?? '?'}`;
  }
  for (const key of keys) {
    const difference = snapshotDifference(a[key], b[key], `${path}.${key}`);
    if (difference) return difference;
  }
  return undefined;
}
