import { z } from 'zod';
import { InvalidArgumentError } from '../log/errors.js';

/**
 * Which records of a basin a global read delivers; both parts are applied in the database.
 *
 * @example
 * log.followAll({ filter: { streamPrefix: 'orders-', header: { name: 'type', values: ['OrderPlaced'] } } });
 */
export interface GlobalFilter {
  /** Only records of streams whose name starts with this. */
  streamPrefix?: string;
  /** Only records carrying a header of this name with one of these values (compared as UTF-8 bytes). */
  header?: { name: string; values: readonly string[] };
}

const noNul = (what: string) =>
  z.string().refine((s) => !s.includes('\u0000'), { message: `${what} must not contain NUL` });

const filterSchema = z
  .object({
    streamPrefix: noNul('streamPrefix').min(1).optional(),
    header: z
      .object({ name: noNul('header name'), values: z.array(noNul('header value')).min(1).max(100) })
      .strict()
      .optional(),
  })
  .strict();

/** A filter after validation: the shape decides the statement, the values are its parameters. */
export interface CheckedFilter {
  streamPrefix: string | null;
  headerName: string | null;
  headerValues: string[] | null;
}

/**
 * Checks a filter.
 *
 * @throws InvalidArgumentError naming the field and the rule.
 */
export function checkFilter(filter: unknown): CheckedFilter {
  const parsed = filterSchema.safeParse(filter ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    throw new InvalidArgumentError(`filter: ${where}: ${issue.message}; got ${JSON.stringify(filter)}`, {
      cause: parsed.error,
    });
  }
  const { streamPrefix, header } = parsed.data;
  return {
    streamPrefix: streamPrefix ?? null,
    headerName: header?.name ?? null,
    headerValues: header ? [...header.values] : null,
  };
}
