import pgLib from 'pg';
import { numericTypes } from './run-query.js';

/*
 * Type parsers for reads: bytea decoded straight to what the caller asked for, strings or bytes, while rows
 * are parsed, and the header arrays (bytea[] and text[], names and values flattened) to `[name, value]` pairs,
 * then or later (see LateHeaders). The array parsers are specialised for what Postgres prints (see each),
 * several times faster than pg's general array parser.
 */

type Parser = (value: string) => unknown;

const OID = { bytea: 17, byteaArray: 1001, textArray: 1009 } as const;

const parseTextArray = pgLib.types.getTypeParser(
  OID.textArray as Parameters<typeof pgLib.types.getTypeParser>[0],
) as (value: string) => string[];

/**
 * text[] as pairs: Postgres quotes an element only when it holds a quote, backslash, comma, brace or white
 * space, is empty, or reads NULL; without a quote in the output, the elements are exactly what lies between
 * the commas. Else pg's parser.
 */
function textPairs<T>(element: (value: string) => T): (value: string) => [T, T][] {
  return (value) => {
    if (value.includes('"')) return pairsOf(parseTextArray(value).map(element));
    const result: [T, T][] = [];
    let at = 1;
    while (at < value.length - 1) {
      const comma = value.indexOf(',', at);
      const next = value.indexOf(',', comma + 1);
      const end = next === -1 ? value.length - 1 : next;
      result.push([element(value.slice(at, comma)), element(value.slice(comma + 1, end))]);
      at = end + 1;
    }
    return result;
  };
}

/**
 * The values of the headers named `names` in a text[] header array as Postgres prints it, put in `out` at
 * their name's index (the last one when a name comes twice; undefined when it does not come), without making
 * the pairs: the usual record's headers are picked with a slice per value taken. Returns false, leaving `out`
 * unspecified, when an element is quoted (see {@link textPairs}): the caller then takes the pairs.
 */
export function pickTextHeaders(
  value: string,
  names: readonly string[],
  out: (string | undefined)[],
): boolean {
  if (value.includes('"')) return false;
  out.fill(undefined);
  const last = value.length - 1;
  let at = 1;
  while (at < last) {
    const comma = value.indexOf(',', at);
    if (comma === -1) return false; // not pairs
    const next = value.indexOf(',', comma + 1);
    const end = next === -1 ? last : next;
    const length = comma - at;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (name.length === length && value.startsWith(name, at)) {
        out[i] = value.slice(comma + 1, end);
        break;
      }
    }
    at = end + 1;
  }
  return true;
}

const bytes = (value: string): Buffer => Buffer.from(value.slice(2), 'hex');
const utf8 = (value: string): string => Buffer.from(value.slice(2), 'hex').toString('utf8');
const same = (value: string): string => value;
const encoded = (value: string): Buffer => Buffer.from(value, 'utf8');

/** A text[] header array as Postgres prints it, as `[name, value]` pairs of strings. */
export const textHeaderPairs: (value: string) => [string, string][] = textPairs(same);

/** bytea[] as pairs: each element prints as "\\x<hex>": a quote, two backslashes and an x, then a quote. */
function byteaPairs<T>(element: (value: string) => T): (value: string) => [T, T][] {
  return (value) => {
    if (value === '{}') return [];
    return pairsOf(
      value
        .slice(1, -1)
        .split(',')
        .map((item) => element(item.slice(2, -1))),
    );
  };
}

/**
 * Strings are immutable, so a row whose header text is the previous row's (records of a stream mostly repeat
 * theirs) reuses that row's names and values instead of cutting them out again; every record still gets
 * pairs of its own, which its reader may change.
 */
function reusingLast(parse: (value: string) => [string, string][]): (value: string) => [string, string][] {
  let lastText: string | undefined;
  let lastPairs: [string, string][] = [];
  return (value) => {
    if (value !== lastText) {
      lastPairs = parse(value);
      lastText = value;
    }
    const result = new Array<[string, string]>(lastPairs.length);
    for (let i = 0; i < result.length; i++) result[i] = [lastPairs[i]![0], lastPairs[i]![1]];
    return result;
  };
}

function pairsOf<T>(flat: T[]): [T, T][] {
  const result = new Array<[T, T]>(flat.length >> 1);
  for (let i = 0; i < result.length; i++) result[i] = [flat[2 * i]!, flat[2 * i + 1]!];
  return result;
}

function typeSet(
  element: (value: string) => unknown,
  headersBytes: (value: string) => unknown,
  headersText: (value: string) => unknown,
): {
  getTypeParser(oid: number, format?: string): Parser;
} {
  const fallback = pgLib.types.getTypeParser(OID.bytea) as Parser;
  return {
    getTypeParser(oid, format) {
      if (format === 'binary') return fallback;
      if (oid === OID.bytea) return element;
      if (oid === OID.byteaArray) return headersBytes;
      if (oid === OID.textArray) return headersText;
      return numericTypes.getTypeParser(oid, 'text');
    },
  };
}

/** How a read decodes: bodies (bytea) by `element`, header arrays (bytea[] and text[]) to pairs. */
interface Decoding<T> {
  element: (value: string) => T;
  fromBytes: (value: string) => [T, T][];
  fromText: (value: string) => [T, T][];
}

/** UTF-8 strings, invalid bytes replaced. */
const STRINGS: Decoding<string> = {
  element: utf8,
  fromBytes: byteaPairs(utf8),
  fromText: reusingLast(textHeaderPairs),
};

const BYTES: Decoding<Buffer> = {
  element: bytes,
  fromBytes: byteaPairs(bytes),
  fromText: textPairs(encoded),
};

/**
 * For reads that keep their rows and make records later (see row-page.ts): the type parsers leave the header
 * arrays as Postgres prints them, and `headers` makes the pairs, from the bytea[] or else the text[] column.
 */
export interface LateHeaders<T> {
  types: { getTypeParser(oid: number, format?: string): Parser };
  headers(bytes: string | null, text: string | null): [T, T][];
}

function lateHeaders<T>({ element, fromBytes, fromText }: Decoding<T>): LateHeaders<T> {
  return {
    types: typeSet(element, same, same),
    headers: (bytes, text) => (bytes !== null ? fromBytes(bytes) : text !== null ? fromText(text) : []),
  };
}

/** Bodies and headers as strings, the headers made late. */
export const lateAsStrings = lateHeaders(STRINGS);

/** Bodies and headers as Buffers, the headers made late. */
export const lateAsBytes = lateHeaders(BYTES);
