import pgLib from 'pg';
import { numericTypes } from './run-query.js';

/*
 * Type parsers for reads: bytea and bytea[] decoded straight to what the caller asked for, strings or bytes,
 * while rows are parsed. The array parsers are specialised for what Postgres prints (see each), several times
 * faster than pg's general array parser.
 */

type Parser = (value: string) => unknown;

const OID = { bytea: 17, byteaArray: 1001, textArray: 1009 } as const;

const parseTextArray = pgLib.types.getTypeParser(
  OID.textArray as Parameters<typeof pgLib.types.getTypeParser>[0],
) as (value: string) => string[];

/**
 * text[]: Postgres quotes an element only when it holds a quote, backslash, comma, brace or white space, is
 * empty, or reads NULL; without a quote in the output, a split on commas is exact. Else pg's parser.
 */
function textArray(value: string): string[] {
  if (value === '{}') return [];
  return value.includes('"') ? parseTextArray(value) : value.slice(1, -1).split(',');
}

const bytes = (value: string): Buffer => Buffer.from(value.slice(2), 'hex');
const utf8 = (value: string): string => Buffer.from(value.slice(2), 'hex').toString('utf8');

function byteaArray<T>(element: (value: string) => T): (value: string) => T[] {
  return (value) => {
    if (value === '{}') return [];
    const items = value.slice(1, -1).split(',');
    // Each item is "\\x<hex>": a quote, two backslashes and an x before the hex, a quote after it.
    return items.map((item) => element(item.slice(2, -1)));
  };
}

function typeSet(element: (value: string) => unknown): {
  getTypeParser(oid: number, format?: string): Parser;
} {
  const array = byteaArray(element);
  const fallback = pgLib.types.getTypeParser(OID.bytea) as Parser;
  return {
    getTypeParser(oid, format) {
      if (format === 'binary') return fallback;
      if (oid === OID.bytea) return element;
      if (oid === OID.byteaArray) return array;
      if (oid === OID.textArray) return textArray;
      return numericTypes.getTypeParser(oid, 'text');
    },
  };
}

/** bytea and bytea[] as UTF-8 strings (invalid bytes replaced), bigints as numbers. */
export const textAsStrings = typeSet(utf8);

/** bytea and bytea[] as Buffers, bigints as numbers. */
export const textAsBytes = typeSet(bytes);
