import { FencepostError, StorageError } from './errors.js';
import { messageOf, refusedByDatabase, refusedForNow } from './run-query.js';

/**
 * Runs database work done through Kysely (the management of basins and streams, the sweep) so that it fails
 * with fencepost's errors, as the statements of `runQuery` do: a `FencepostError` it throws (a not-found or
 * already-exists it mapped itself) goes through as it is; anything else becomes a `StorageError` with the
 * original as `cause`, saying whether the database refused the statement (nothing was written) or the
 * connection failed or was lost (`connectionLost`: worth a retry). For a `change`, a lost connection leaves its outcome unknown (it may have
 * been lost around the commit), and the message says so. Internal.
 *
 * @throws FencepostError: what `work` threw, or a StorageError.
 * @example
 * const rows = await withStorageErrors('read', () => db.selectFrom('basins').selectAll().execute());
 */
export async function withStorageErrors<T>(kind: 'read' | 'change', work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (cause) {
    if (cause instanceof FencepostError) throw cause;
    if (refusedByDatabase(cause)) {
      throw new StorageError(`the database refused the statement: ${messageOf(cause)}`, {
        cause,
        transient: refusedForNow(cause),
      });
    }
    const outcome = kind === 'change' ? '; the change may or may not have been applied' : '';
    throw new StorageError(`the database connection failed or was lost: ${messageOf(cause)}${outcome}`, {
      cause,
      connectionLost: true,
    });
  }
}
