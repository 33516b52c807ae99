import { sql } from 'kysely';
import { checkBasinConfig, mergeStreamConfig, timestampingCode } from './config.js';
import { BasinNotFoundError, InvalidArgumentError, ResourceAlreadyExistsError } from './errors.js';
import { assertOpen, type LogContext } from './log-context.js';
import { checkBasinName, checkListOptions } from './names.js';
import { withStorageErrors } from './with-storage-errors.js';
import type { BasinConfig, BasinInfo, ListOptions } from './types.js';

/** The basin the migrations create, which `log.stream(name)` uses unless told otherwise. */
export const DEFAULT_BASIN = 'default-basin';

/**
 * The basins of a log: create, list, configure, delete. Names follow the S2 SDK's `s2.basins`. Besides the
 * errors each method names, every one throws StorageError when the database refuses a statement or the
 * connection fails (for a change whose connection was lost, the message says it may have been applied).
 *
 * @example
 * await log.basins.create({ basin: 'acme-prod', config: { createStreamOnAppend: true } });
 */
export class Basins {
  readonly #context: LogContext;

  /** @internal */
  constructor(context: LogContext) {
    this.#context = context;
  }

  /** Creates a basin. @throws ResourceAlreadyExistsError, InvalidArgumentError. */
  async create(input: { basin: string; config?: BasinConfig }): Promise<BasinInfo> {
    assertOpen(this.#context);
    const name = checkBasinName(input.basin);
    const config = checkBasinConfig(input.config);
    const row = await withStorageErrors('change', () =>
      this.#context.db
        .insertInto('basins')
        .values({ name, ...columns(config) })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning(['name', 'created_at'])
        .executeTakeFirst(),
    );
    if (!row) throw new ResourceAlreadyExistsError('basin', name);
    return { name: row.name, createdAt: row.created_at, deletedAt: null };
  }

  /** Lists basins in name order, as {@link Streams.list} lists streams. @throws InvalidArgumentError. */
  async list(options: ListOptions = {}): Promise<{ basins: BasinInfo[]; hasMore: boolean }> {
    assertOpen(this.#context);
    const { prefix, startAfter, limit } = checkListOptions(options);
    let query = this.#context.db
      .selectFrom('basins')
      .select(['name', 'created_at'])
      .where(sql<boolean>`starts_with(name, ${prefix})`)
      .orderBy('name')
      .limit(limit + 1);
    if (startAfter !== undefined) query = query.where('name', '>', startAfter);
    const rows = await withStorageErrors('read', () => query.execute());
    return {
      basins: rows.slice(0, limit).map((r) => ({ name: r.name, createdAt: r.created_at, deletedAt: null })),
      hasMore: rows.length > limit,
    };
  }

  /** @throws BasinNotFoundError. */
  async getConfig(input: { basin: string }): Promise<BasinConfig> {
    assertOpen(this.#context);
    checkBasinName(input.basin);
    const row = await withStorageErrors('read', () =>
      this.#context.db
        .selectFrom('basins')
        .select('config')
        .where('name', '=', input.basin)
        .executeTakeFirst(),
    );
    if (!row) throw new BasinNotFoundError(input.basin);
    return row.config as BasinConfig;
  }

  /** Changes the given fields of a basin's config; returns the new config. @throws BasinNotFoundError. */
  async reconfigure(input: { basin: string } & BasinConfig): Promise<BasinConfig> {
    assertOpen(this.#context);
    const { basin, ...patch } = input;
    checkBasinName(basin);
    const changes = checkBasinConfig(patch);
    return withStorageErrors('change', () => this.#reconfigure(basin, changes));
  }

  async #reconfigure(basin: string, changes: BasinConfig): Promise<BasinConfig> {
    return this.#context.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('basins')
        .select('config')
        .where('name', '=', basin)
        .forUpdate()
        .executeTakeFirst();
      if (!row) throw new BasinNotFoundError(basin);
      const current = row.config as BasinConfig;
      const config: BasinConfig = { ...current, ...changes };
      if (changes.defaultStreamConfig) {
        config.defaultStreamConfig = mergeStreamConfig(
          current.defaultStreamConfig ?? {},
          changes.defaultStreamConfig,
        );
      }
      await trx.updateTable('basins').set(columns(config)).where('name', '=', basin).execute();
      return config;
    });
  }

  /**
   * Deletes a basin with all its streams and records. The default basin (`default-basin`), which every log
   * uses for `log.stream()` unless told otherwise, cannot be deleted. Appends racing the delete either
   * commit before it (and their records go with the basin) or fail, definitely: no record outlives its
   * stream row.
   *
   * @throws BasinNotFoundError, InvalidArgumentError.
   */
  async delete(input: { basin: string }): Promise<void> {
    assertOpen(this.#context);
    checkBasinName(input.basin);
    if (input.basin === DEFAULT_BASIN) {
      throw new InvalidArgumentError(`the default basin ${JSON.stringify(DEFAULT_BASIN)} cannot be deleted`);
    }
    const deleted = await withStorageErrors('change', () => this.#delete(input.basin));
    if (!deleted) throw new BasinNotFoundError(input.basin);
  }

  /** Deletes the basin, its streams and their records; false when it does not exist. */
  async #delete(basin: string): Promise<boolean> {
    return this.#context.db.transaction().execute(async (trx) => {
      // Records have no foreign key to their stream, so they are deleted by id, after every append that could
      // still add one has ended. First the basin row, locked: a stream being created in the basin holds a
      // key-share lock on it until its append commits, and no stream can be created in it after this.
      const found = await trx
        .selectFrom('basins')
        .select('name')
        .where('name', '=', basin)
        .forUpdate()
        .executeTakeFirst();
      if (!found) return false;
      // Then the stream rows, locked in (basin, name) order as multi-stream appends lock them (so the two
      // never deadlock): each waits for the append holding its lock, whose records are committed then.
      const streams = await trx
        .deleteFrom('streams')
        .where(
          'id',
          'in',
          trx.selectFrom('streams').select('id').where('basin', '=', basin).orderBy('name').forUpdate(),
        )
        .returning('id')
        .execute();
      // A statement of its own, so that its snapshot sees the records of the appends waited for.
      if (streams.length > 0) {
        await trx
          .deleteFrom('records')
          .where('stream_id', '=', sql<string>`any(${streams.map((s) => s.id)}::bigint[])`)
          .execute();
      }
      await trx.deleteFrom('basins').where('name', '=', basin).execute();
      return true;
    });
  }
}

function columns(config: BasinConfig) {
  const timestamping = config.defaultStreamConfig?.timestamping;
  return {
    config: JSON.stringify(config),
    create_stream_on_append: config.createStreamOnAppend ?? false,
    create_stream_on_read: config.createStreamOnRead ?? false,
    ts_mode: timestampingCode(timestamping?.mode),
    ts_uncapped: timestamping?.uncapped ?? false,
  };
}
