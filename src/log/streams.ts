import { sql } from 'kysely';
import { checkStreamConfig, mergeStreamConfig, timestampingCode } from './config.js';
import { BasinNotFoundError, ResourceAlreadyExistsError, StreamNotFoundError } from './errors.js';
import { assertOpen, type LogContext } from './log-context.js';
import { checkListOptions, checkStreamName } from './names.js';
import { withStorageErrors } from './with-storage-errors.js';
import type { ListOptions, StreamConfig, StreamInfo } from './types.js';

/**
 * The streams of one basin: create, list, configure, delete. Names follow the S2 SDK's `basin.streams`.
 * Besides the errors each method names, every one throws StorageError when the database refuses a
 * statement or the connection fails (for a change whose connection was lost, the message says it may have
 * been applied).
 *
 * @example
 * await log.basin('acme-prod').streams.create({ stream: 'orders-1', config: { timestamping: { mode: 'arrival' } } });
 * const { streams, hasMore } = await log.basin('acme-prod').streams.list({ prefix: 'orders-' });
 */
export class Streams {
  readonly #context: LogContext;
  readonly #basin: string;

  /** @internal */
  constructor(context: LogContext, basin: string) {
    this.#context = context;
    this.#basin = basin;
  }

  /**
   * Creates a stream; its config is the basin's default stream config with `config` laid over it.
   *
   * @throws ResourceAlreadyExistsError, BasinNotFoundError, InvalidArgumentError.
   */
  async create(input: { stream: string; config?: StreamConfig }): Promise<StreamInfo> {
    const name = checkStreamName(input.stream);
    const patch = checkStreamConfig(input.config);
    const created = await this.createRow(name, patch);
    if (created) return created;
    await this.#basinMustExist();
    throw new ResourceAlreadyExistsError('stream', name);
  }

  /** Inserts the stream row unless it exists; undefined when it exists or the basin does not. @internal */
  async createRow(name: string, patch: StreamConfig = {}): Promise<StreamInfo | undefined> {
    assertOpen(this.#context);
    return withStorageErrors('change', () => this.#createRow(name, patch));
  }

  async #createRow(name: string, patch: StreamConfig): Promise<StreamInfo | undefined> {
    const basin = await this.#context.db
      .selectFrom('basins')
      .select('config')
      .where('name', '=', this.#basin)
      .executeTakeFirst();
    if (!basin) return undefined;
    const defaults = ((basin.config as { defaultStreamConfig?: StreamConfig }).defaultStreamConfig ??
      {}) as StreamConfig;
    const config = mergeStreamConfig(defaults, patch);
    const row = await this.#context.db
      .insertInto('streams')
      .values({
        basin: this.#basin,
        name,
        config: JSON.stringify(config),
        ts_mode: timestampingCode(config.timestamping?.mode),
        ts_uncapped: config.timestamping?.uncapped ?? false,
      })
      .onConflict((oc) => oc.columns(['basin', 'name']).doNothing())
      .returning(['name', 'created_at'])
      .executeTakeFirst();
    return row ? { name: row.name, createdAt: row.created_at, deletedAt: null } : undefined;
  }

  /**
   * Lists streams in byte order of their names: those starting with `prefix`, after `startAfter`, at most
   * `limit` (1–1000, default 1000). `hasMore` says whether another page follows.
   *
   * @throws BasinNotFoundError, InvalidArgumentError.
   */
  async list(options: ListOptions = {}): Promise<{ streams: StreamInfo[]; hasMore: boolean }> {
    assertOpen(this.#context);
    const { prefix, startAfter, limit } = checkListOptions(options);
    let query = this.#context.db
      .selectFrom('streams')
      .select(['name', 'created_at'])
      .where('basin', '=', this.#basin)
      // starts_with compares bytes: no LIKE pattern, so % and _ in a prefix match only themselves.
      .where(sql<boolean>`starts_with(name, ${prefix})`)
      .orderBy('name')
      .limit(limit + 1);
    if (startAfter !== undefined) query = query.where('name', '>', startAfter);
    const rows = await withStorageErrors('read', () => query.execute());
    if (rows.length === 0) await this.#basinMustExist();
    return {
      streams: rows.slice(0, limit).map((r) => ({ name: r.name, createdAt: r.created_at, deletedAt: null })),
      hasMore: rows.length > limit,
    };
  }

  /** The stream's config. @throws StreamNotFoundError, BasinNotFoundError. */
  async getConfig(input: { stream: string }): Promise<StreamConfig> {
    assertOpen(this.#context);
    const name = checkStreamName(input.stream);
    const row = await withStorageErrors('read', () =>
      this.#context.db
        .selectFrom('streams')
        .select('config')
        .where('basin', '=', this.#basin)
        .where('name', '=', name)
        .executeTakeFirst(),
    );
    if (!row) throw await this.#notFound(name);
    return row.config as StreamConfig;
  }

  /**
   * Changes the given fields of a stream's config and returns the whole new config. A new timestamping mode
   * applies to appends committed after this.
   *
   * @throws StreamNotFoundError, BasinNotFoundError, InvalidArgumentError.
   */
  async reconfigure(input: { stream: string } & StreamConfig): Promise<StreamConfig> {
    assertOpen(this.#context);
    const { stream, ...patch } = input;
    const name = checkStreamName(stream);
    const changes = checkStreamConfig(patch);
    return withStorageErrors('change', () => this.#reconfigure(name, changes));
  }

  async #reconfigure(name: string, changes: StreamConfig): Promise<StreamConfig> {
    return this.#context.db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('streams')
        .select('config')
        .where('basin', '=', this.#basin)
        .where('name', '=', name)
        .forUpdate()
        .executeTakeFirst();
      if (!row) throw await this.#notFound(name);
      const config = mergeStreamConfig(row.config as StreamConfig, changes);
      await trx
        .updateTable('streams')
        .set({
          config: JSON.stringify(config),
          ts_mode: timestampingCode(config.timestamping?.mode),
          ts_uncapped: config.timestamping?.uncapped ?? false,
        })
        .where('basin', '=', this.#basin)
        .where('name', '=', name)
        .execute();
      return config;
    });
  }

  /**
   * Deletes a stream and all its records, at once and atomically. Its name can be used again afterwards.
   *
   * @throws StreamNotFoundError, BasinNotFoundError.
   */
  async delete(input: { stream: string }): Promise<void> {
    assertOpen(this.#context);
    const name = checkStreamName(input.stream);
    const deleted = await withStorageErrors('change', () =>
      this.#context.db.transaction().execute(async (trx) => {
        // The stream row first: that waits for an append holding its lock, whose records are then committed
        // and deleted by the next statement, which sees them.
        const row = await trx
          .deleteFrom('streams')
          .where('basin', '=', this.#basin)
          .where('name', '=', name)
          .returning('id')
          .executeTakeFirst();
        if (row) await trx.deleteFrom('records').where('stream_id', '=', row.id).execute();
        return row !== undefined;
      }),
    );
    if (!deleted) throw await this.#notFound(name);
  }

  async #basinMustExist(): Promise<void> {
    const found = await withStorageErrors('read', () =>
      this.#context.db.selectFrom('basins').select('name').where('name', '=', this.#basin).executeTakeFirst(),
    );
    if (!found) throw new BasinNotFoundError(this.#basin);
  }

  async #notFound(name: string): Promise<Error> {
    await this.#basinMustExist();
    return new StreamNotFoundError(this.#basin, name);
  }
}
