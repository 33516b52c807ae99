import { createHash } from 'node:crypto';

/**
 * Postgres keeps the first 63 bytes of a name (NAMEDATALEN - 1): of a prepared statement's name, silently,
 * and of a LISTEN channel; `pg_notify` refuses a longer channel.
 */
export const MAX_NAME_BYTES = 63;

const ROLE = /^[a-z][a-z0-9-]{0,31}$/;
/** Hex digits of the schema's SHA-256 in a shortened name: 40 bits. */
const HASH_DIGITS = 10;

/**
 * The name of one of fencepost's prepared statements: `fencepost.<schema>.<role>.v<version>`, readable in
 * `pg_prepared_statements` and in the server's statement log. Two names that agree in their first 63 bytes
 * are one name to Postgres (`prepared statement "…" already exists` on a connection), so where the full name
 * would be longer, the schema is shortened (see {@link nameWithSchema}). Names are at most 63 bytes and
 * distinct for distinct (schema, role, version). A shortened name costs a hash: the append and read paths
 * build their names once per log (or per statement shape), never per execution.
 *
 * @throws Error for a role that is not 1–32 characters of `a-z`, `0-9` and `-` starting with a letter (a
 *   programming error: roles are fencepost's own constants).
 * @example
 * statementName('fencepost', 'append-one'); // 'fencepost.fencepost.append-one.v1'
 * statementName('s'.repeat(63), 'append-one'); // 'fencepost.ssssssssssssssssssssssssssss~60ed9b7a6d.append-one.v1'
 */
export function statementName(schema: string, role: string, version = 1): string {
  if (!ROLE.test(role)) throw new Error(`fencepost: bad statement role ${JSON.stringify(role)}`);
  return nameWithSchema('fencepost.', schema, `.${role}.v${version}`);
}

/**
 * `head + schema + tail` when that is at most 63 bytes; else the schema is cut to the prefix that fits
 * beside `~` and 10 hex digits of the whole schema name's SHA-256. So a full name has no `~`, and two
 * shortened names with the same head and tail agree only if their schemas share that prefix and 40 bits of
 * hash. Schema names are ASCII (see checkSchemaName), so characters are bytes; head and tail must leave at
 * least a character for the prefix.
 *
 * @example
 * nameWithSchema('fencepost_', 'fencepost', ''); // 'fencepost_fencepost'
 */
export function nameWithSchema(head: string, schema: string, tail: string): string {
  const full = `${head}${schema}${tail}`;
  if (Buffer.byteLength(full) <= MAX_NAME_BYTES) return full;
  const room = MAX_NAME_BYTES - Buffer.byteLength(head) - 1 - HASH_DIGITS - Buffer.byteLength(tail);
  if (room < 1) throw new Error(`fencepost: no room for the schema in a name ${head}…${tail}`);
  const hash = createHash('sha256').update(schema).digest('hex').slice(0, HASH_DIGITS);
  return `${head}${schema.slice(0, room)}~${hash}${tail}`;
}
