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

function quote(value: string): string {
  return `"${value.includes('\\') || value.includes('"') ? value.replace(/[\\"]/g, '\\$&') : value}"`;
}
