/*
 * Postgres array literals for the batch statement's parameters, built here rather than by pg's generic
 * serializer, which inspects and escapes every element one by one (about a third of a 100-record batch's
 * client time went there). The results are plain text parameters, cast in the statement.
 */

/** `{1,2,3}`; a null element is NULL. */
export function intArray(values: readonly (number | null)[]): string {
  // join() writes numbers as String() does; only nulls need a word of their own.
  if (!values.includes(null)) return `{${values.join(',')}}`;
  return `{${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}}`;
}

/** `{t,f}`. */
export function boolArray(values: readonly boolean[]): string {
  return `{${values.map((v) => (v ? 't' : 'f')).join(',')}}`;
}

const NEEDS_ESCAPE = /[\\"]/;

/**
 * `{"a","b\"c"}`: every element quoted, backslashes and quotes escaped. The usual array has neither, which one
 * scan of all elements at once finds out; then the elements go in as they are.
 */
export function textArray(values: readonly string[]): string {
  if (values.length === 0) return '{}';
  if (!NEEDS_ESCAPE.test(values.join(''))) return `{"${values.join('","')}"}`;
  return `{${values.map(quote).join(',')}}`;
}

/**
 * One array literal per record, as an array literal: `{"{\\"a\\",\\"b\\"}","{}"}` for records with headers
 * `[a, b]` and none. The statement casts each record's own literal (a short parse per record) instead of
 * slicing one long array per record: Postgres finds a slice of a text array by walking it from its first
 * element, so slicing made a 1000-record batch quadratic (measured: 20–27 ms of a 1000-record batch's
 * executor time against 7–12 ms without headers).
 */
export function textArrays(
  values: readonly string[],
  offsets: readonly number[],
  counts: readonly number[],
): string {
  if (NEEDS_ESCAPE.test(values.join(''))) {
    return textArray(offsets.map((offset, i) => textArray(values.slice(offset, offset + 2 * counts[i]!))));
  }
  // Nothing to escape in the elements: each record's literal is {"e1","e2"}, and quoting it for the outer
  // array only puts a backslash before each of its own quotes.
  let result = '{';
  for (let i = 0; i < offsets.length; i++) {
    const offset = offsets[i]!;
    const count = counts[i]!;
    if (i > 0) result += ',';
    result += count === 0 ? '"{}"' : `"{\\"${values.slice(offset, offset + 2 * count).join('\\",\\"')}\\"}"`;
  }
  return `${result}}`;
}

function quote(value: string): string {
  return `"${value.includes('\\') || value.includes('"') ? value.replace(/[\\"]/g, '\\$&') : value}"`;
}
