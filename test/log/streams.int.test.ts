/**
 * Managing basins and streams (create, list, configure, delete; creating streams on append or read), the
 * errors for missing ones, and `EventLog.connect`: option checks, independent schemas in one database, and
 * concurrent migrations of a fresh schema.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  BasinNotFoundError,
  ClosedError,
  EventLog,
  FencepostError,
  InvalidArgumentError,
  RangeNotSatisfiableError,
  ResourceAlreadyExistsError,
  StreamNotFoundError,
  type BasinConfig,
  type ConnectOptions,
} from '../../src/index.js';
import { rejectionOf } from '../support/assertions.js';
import { uniqueName, uniqueSchema, useEventLog } from '../support/event-log.js';

const fixture = useEventLog();

/** Creates a basin with a unique valid name and returns its handle. */
async function newBasin(config?: BasinConfig) {
  const name = uniqueName('basin');
  await fixture.log.basins.create({ basin: name, config });
  return fixture.log.basin(name);
}

/** A basin name that is valid but was never created. */
function missingBasinName(): string {
  return uniqueName('missing');
}

/** The rejection of `EventLog.connect(options)`; closes the log if it connected after all. */
async function connectRejection(options: ConnectOptions): Promise<unknown> {
  let log: EventLog | undefined;
  try {
    log = await EventLog.connect(options);
  } catch (error) {
    return error;
  }
  await log.close();
  throw new Error('expected EventLog.connect to reject, but it connected');
}

/** How many records are stored for the stream row `id` (straight from the table). */
async function storedRecordsOf(id: string): Promise<number> {
  const { rows } = await fixture.log.pool.query<{ n: string }>(
    `select count(*) as n from "${fixture.log.schema}".records where stream_id = $1`,
    [id],
  );
  return Number(rows[0]!.n);
}

async function streamRowId(basin: string, stream: string): Promise<string> {
  const { rows } = await fixture.log.pool.query<{ id: string }>(
    `select id::text as id from "${fixture.log.schema}".streams where basin = $1 and name = $2`,
    [basin, stream],
  );
  return rows[0]!.id;
}

describe('basins', () => {
  it('refuses to delete the default basin', async () => {
    await expect(fixture.log.basins.delete({ basin: 'default-basin' })).rejects.toThrow(/cannot be deleted/);
    await fixture.log.stream(uniqueName('still-there')).append([{ body: 'ok' }]);
  });

  it('reconfigure merges the default stream config into the old one', async () => {
    const basin = await newBasin({
      defaultStreamConfig: { timestamping: { mode: 'arrival' }, storageClass: 'express' },
    });
    const config = await fixture.log.basins.reconfigure({
      basin: basin.name,
      defaultStreamConfig: { timestamping: { uncapped: true } },
    });
    expect(config.defaultStreamConfig).toEqual({
      timestamping: { mode: 'arrival', uncapped: true },
      storageClass: 'express',
    });
  });

  it('create returns the basin’s info, and list shows it', async () => {
    const name = uniqueName('basin');
    const info = await fixture.log.basins.create({ basin: name });
    expect(info).toEqual({ name, createdAt: expect.any(Date), deletedAt: null });
    const { basins } = await fixture.log.basins.list({ prefix: name });
    expect(basins.map((b) => b.name)).toEqual([name]);
  });

  it('getConfig returns the config it was created with', async () => {
    const config: BasinConfig = {
      createStreamOnAppend: true,
      createStreamOnRead: false,
      defaultStreamConfig: { timestamping: { mode: 'arrival' } },
    };
    const basin = await newBasin(config);
    expect(await fixture.log.basins.getConfig({ basin: basin.name })).toEqual(config);
  });

  it('reconfigure changes only the given fields and returns the whole new config', async () => {
    const basin = await newBasin({ createStreamOnAppend: true });
    const config = await fixture.log.basins.reconfigure({ basin: basin.name, createStreamOnRead: true });
    expect(config).toEqual({ createStreamOnAppend: true, createStreamOnRead: true });
    expect(await fixture.log.basins.getConfig({ basin: basin.name })).toEqual(config);
  });

  it('reconfigure rejects an invalid config with InvalidArgumentError naming the field', async () => {
    const basin = await newBasin();
    const error = await rejectionOf(
      fixture.log.basins.reconfigure({
        basin: basin.name,
        createStreamOnAppend: 'yes' as unknown as boolean,
      }),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('createStreamOnAppend');
  });

  it('create rejects an unknown config field', async () => {
    const name = uniqueName('basin');
    const config = { createStreamsOnAppend: true } as unknown as BasinConfig;
    await expect(fixture.log.basins.create({ basin: name, config })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect((await fixture.log.basins.list({ prefix: name })).basins).toEqual([]);
  });

  it('a duplicate create fails with ResourceAlreadyExistsError and leaves the basin as it was', async () => {
    const basin = await newBasin({ createStreamOnAppend: true });
    const error = await rejectionOf(fixture.log.basins.create({ basin: basin.name, config: {} }));
    expect(error).toBeInstanceOf(ResourceAlreadyExistsError);
    expect(error).toMatchObject({ code: 'resource_already_exists', indefinite: false });
    expect(await fixture.log.basins.getConfig({ basin: basin.name })).toEqual({ createStreamOnAppend: true });
  });

  it('delete removes the basin with its streams and records', async () => {
    const basin = await newBasin({ createStreamOnAppend: true });
    await basin.stream('s').append([{ body: 'a' }, { body: 'b' }]);
    const id = await streamRowId(basin.name, 's');
    await fixture.log.basins.delete({ basin: basin.name });
    await expect(fixture.log.basins.getConfig({ basin: basin.name })).rejects.toBeInstanceOf(
      BasinNotFoundError,
    );
    expect((await fixture.log.basins.list({ prefix: basin.name })).basins).toEqual([]);
    expect(await storedRecordsOf(id)).toBe(0);
  });

  it('a deleted basin’s name can be used again, with no streams in it', async () => {
    const basin = await newBasin({ createStreamOnAppend: true });
    await basin.stream('s').append([{ body: 'old' }]);
    await fixture.log.basins.delete({ basin: basin.name });
    await fixture.log.basins.create({ basin: basin.name, config: { createStreamOnAppend: true } });
    expect((await basin.streams.list()).streams).toEqual([]);
    const ack = await basin.stream('s').append([{ body: 'new' }]);
    expect(ack.start.seqNum).toBe(0);
  });

  it('list pages with limit, startAfter and hasMore in name order', async () => {
    const prefix = uniqueName('pages');
    const names = ['c', 'a', 'e', 'b', 'd'].map((s) => `${prefix}-${s}`);
    for (const basin of names) await fixture.log.basins.create({ basin });
    const first = await fixture.log.basins.list({ prefix, limit: 2 });
    expect(first.basins.map((b) => b.name)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    expect(first.hasMore).toBe(true);
    const rest = await fixture.log.basins.list({ prefix, startAfter: `${prefix}-b`, limit: 3 });
    expect(rest.basins.map((b) => b.name)).toEqual([`${prefix}-c`, `${prefix}-d`, `${prefix}-e`]);
    expect(rest.hasMore).toBe(false);
  });

  it.each([
    ['8 characters', 'abcdefgh'],
    ['48 characters', 'a'.repeat(48)],
    ['digits and inner hyphens', '0-1-2-3-4-5'],
  ])('accepts a name of %s', async (_, name) => {
    const info = await fixture.log.basins.create({ basin: name });
    expect(info.name).toBe(name);
    await fixture.log.basins.delete({ basin: name });
  });

  it.each([
    ['7 characters', 'abcdefg'],
    ['49 characters', 'a'.repeat(49)],
    ['an upper-case letter', 'Abcdefgh'],
    ['an underscore', 'abcd_efgh'],
    ['a dot', 'abcd.efgh'],
    ['a space', 'abcd efgh'],
    ['a leading hyphen', '-abcdefgh'],
    ['a trailing hyphen', 'abcdefgh-'],
    ['a non-ASCII letter', 'abcdéfgh'],
    ['nothing', ''],
  ])('rejects a name with %s, creating nothing', async (_, name) => {
    const error = await rejectionOf(fixture.log.basins.create({ basin: name }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/basin name must be 8–48 characters/);
    expect(() => fixture.log.basin(name)).toThrow(InvalidArgumentError);
    const listed = await fixture.log.basins.list();
    expect(listed.basins.map((b) => b.name)).not.toContain(name);
  });

  it('getConfig and list answer a name or prefix containing NUL with a FencepostError', async () => {
    await expect(fixture.log.basins.getConfig({ basin: 'bad\u0000basin' })).rejects.toBeInstanceOf(
      FencepostError,
    );
    await expect(fixture.log.basins.list({ prefix: '\u0000' })).rejects.toBeInstanceOf(FencepostError);
  });
});

describe('creating streams on append', () => {
  it('a new basin refuses appends to a missing stream with StreamNotFoundError and creates nothing', async () => {
    const basin = await newBasin();
    const error = await rejectionOf(basin.stream('s').append([{ body: 'x' }]));
    expect(error).toBeInstanceOf(StreamNotFoundError);
    expect(error).toMatchObject({ code: 'stream_not_found', stream: 's' });
    expect((await basin.streams.list()).streams).toEqual([]);
  });

  it('a basin with createStreamOnAppend creates the stream on its first append', async () => {
    const basin = await newBasin({ createStreamOnAppend: true });
    const ack = await basin.stream('s').append([{ body: 'x' }]);
    expect(ack.start.seqNum).toBe(0);
    expect((await basin.streams.list()).streams.map((s) => s.name)).toEqual(['s']);
  });

  it('turning createStreamOnAppend on by reconfigure lets later appends create streams', async () => {
    const basin = await newBasin();
    await expect(basin.stream('s').append([{ body: 'x' }])).rejects.toBeInstanceOf(StreamNotFoundError);
    await fixture.log.basins.reconfigure({ basin: basin.name, createStreamOnAppend: true });
    expect((await basin.stream('s').append([{ body: 'x' }])).start.seqNum).toBe(0);
  });

  it('the default basin creates streams on append', async () => {
    const stream = fixture.log.stream(uniqueName('default'));
    await stream.append([{ body: 'x' }]);
    const { streams } = await fixture.log.basin('default-basin').streams.list({ prefix: stream.name });
    expect(streams.map((s) => s.name)).toEqual([stream.name]);
  });

  it('a stream created on append gets the basin’s default stream config', async () => {
    const basin = await newBasin({
      createStreamOnAppend: true,
      defaultStreamConfig: { timestamping: { mode: 'arrival' } },
    });
    await basin.stream('s').append([{ body: 'x', timestamp: 1_000 }]);
    expect(await basin.streams.getConfig({ stream: 's' })).toEqual({ timestamping: { mode: 'arrival' } });
    const { records } = await basin.stream('s').read({ seqNum: 0 });
    expect(records[0]!.timestamp).toBeGreaterThan(1_000);
  });
});

describe('creating streams on read', () => {
  it('without createStreamOnRead a read of a missing stream is StreamNotFoundError and creates nothing', async () => {
    const basin = await newBasin();
    await expect(basin.stream('s').read({ seqNum: 0 })).rejects.toBeInstanceOf(StreamNotFoundError);
    await expect(basin.stream('s').checkTail()).rejects.toBeInstanceOf(StreamNotFoundError);
    expect((await basin.streams.list()).streams).toEqual([]);
  });

  it('with createStreamOnRead a read creates the stream, which is empty (a 416 at tail 0)', async () => {
    const basin = await newBasin({ createStreamOnRead: true });
    const error = await rejectionOf(basin.stream('s').read({ seqNum: 0 }));
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).tail).toEqual({ seqNum: 0, timestamp: 0 });
    expect((await basin.streams.list()).streams.map((s) => s.name)).toEqual(['s']);
  });

  it('with createStreamOnRead, checkTail creates the stream and reports tail 0', async () => {
    const basin = await newBasin({ createStreamOnRead: true });
    expect(await basin.stream('s').checkTail()).toEqual({ seqNum: 0, timestamp: 0 });
    expect((await basin.streams.list()).streams.map((s) => s.name)).toEqual(['s']);
  });

  it('createStreamOnRead alone does not create streams on append', async () => {
    const basin = await newBasin({ createStreamOnRead: true });
    await expect(basin.stream('s').append([{ body: 'x' }])).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('a stream created on read can then be appended to from seqNum 0', async () => {
    const basin = await newBasin({ createStreamOnRead: true });
    await basin.stream('s').checkTail();
    expect((await basin.stream('s').append([{ body: 'x' }], { matchSeqNum: 0 })).start.seqNum).toBe(0);
  });
});

describe('basin.streams', () => {
  it('create returns the stream’s info and makes an empty stream', async () => {
    const basin = await newBasin();
    const info = await basin.streams.create({ stream: 's' });
    expect(info).toEqual({ name: 's', createdAt: expect.any(Date), deletedAt: null });
    expect(await basin.stream('s').checkTail()).toEqual({ seqNum: 0, timestamp: 0 });
  });

  it('a duplicate create fails with ResourceAlreadyExistsError (409) and leaves the stream as it was', async () => {
    const basin = await newBasin();
    await basin.streams.create({ stream: 's' });
    await basin.stream('s').append([{ body: 'kept' }]);
    const error = await rejectionOf(
      basin.streams.create({ stream: 's', config: { timestamping: { mode: 'arrival' } } }),
    );
    expect(error).toBeInstanceOf(ResourceAlreadyExistsError);
    expect((error as FencepostError).code).toBe('resource_already_exists');
    expect(await basin.streams.getConfig({ stream: 's' })).toEqual({});
    expect((await basin.stream('s').read({ seqNum: 0 })).records.map((r) => r.body)).toEqual(['kept']);
  });

  it('a stream created on append cannot be created again', async () => {
    const stream = fixture.log.stream(uniqueName('dup'));
    await stream.append([{ body: 'x' }]);
    await expect(
      fixture.log.basin('default-basin').streams.create({ stream: stream.name }),
    ).rejects.toBeInstanceOf(ResourceAlreadyExistsError);
  });

  it('create lays the given config over the basin’s default stream config', async () => {
    const basin = await newBasin({ defaultStreamConfig: { timestamping: { mode: 'arrival' } } });
    await basin.streams.create({ stream: 'plain' });
    await basin.streams.create({ stream: 'tuned', config: { timestamping: { uncapped: true } } });
    expect(await basin.streams.getConfig({ stream: 'plain' })).toEqual({ timestamping: { mode: 'arrival' } });
    expect(await basin.streams.getConfig({ stream: 'tuned' })).toEqual({
      timestamping: { mode: 'arrival', uncapped: true },
    });
  });

  it('create rejects an invalid config with InvalidArgumentError naming the field, creating nothing', async () => {
    const basin = await newBasin();
    const config = { timestamping: { mode: 'sometimes' } } as unknown as BasinConfig['defaultStreamConfig'];
    const error = await rejectionOf(basin.streams.create({ stream: 's', config }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('timestamping.mode');
    expect((await basin.streams.list()).streams).toEqual([]);
  });

  it('getConfig returns the config the stream was created with', async () => {
    const basin = await newBasin();
    const config = {
      timestamping: { mode: 'client-require' as const, uncapped: true },
      retentionPolicy: { age: 3_600 },
      storageClass: 'express' as const,
    };
    await basin.streams.create({ stream: 's', config });
    expect(await basin.streams.getConfig({ stream: 's' })).toEqual(config);
  });

  it('getConfig of a missing stream is StreamNotFoundError', async () => {
    const basin = await newBasin();
    await expect(basin.streams.getConfig({ stream: 'nope' })).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('reconfigure changes the given fields, returns the whole new config, and getConfig shows it', async () => {
    const basin = await newBasin();
    await basin.streams.create({ stream: 's', config: { storageClass: 'standard' } });
    const config = await basin.streams.reconfigure({ stream: 's', retentionPolicy: { infinite: {} } });
    expect(config).toEqual({ storageClass: 'standard', retentionPolicy: { infinite: {} } });
    expect(await basin.streams.getConfig({ stream: 's' })).toEqual(config);
  });

  it('reconfigure of a missing stream is StreamNotFoundError and creates nothing', async () => {
    const basin = await newBasin({ createStreamOnAppend: true, createStreamOnRead: true });
    await expect(
      basin.streams.reconfigure({ stream: 'nope', storageClass: 'express' }),
    ).rejects.toBeInstanceOf(StreamNotFoundError);
    expect((await basin.streams.list()).streams).toEqual([]);
  });

  it('reconfigure rejects an invalid config and changes nothing', async () => {
    const basin = await newBasin();
    await basin.streams.create({ stream: 's', config: { storageClass: 'standard' } });
    const error = await rejectionOf(basin.streams.reconfigure({ stream: 's', retentionPolicy: { age: -1 } }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('retentionPolicy');
    expect(await basin.streams.getConfig({ stream: 's' })).toEqual({ storageClass: 'standard' });
  });

  it('delete removes the stream and its records', async () => {
    const basin = await newBasin();
    await basin.streams.create({ stream: 's' });
    await basin.stream('s').append([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    const id = await streamRowId(basin.name, 's');
    expect(await storedRecordsOf(id)).toBe(3);
    await basin.streams.delete({ stream: 's' });
    expect(await storedRecordsOf(id)).toBe(0);
    expect((await basin.streams.list()).streams).toEqual([]);
    await expect(basin.stream('s').read({ seqNum: 0 })).rejects.toBeInstanceOf(StreamNotFoundError);
    await expect(basin.stream('s').checkTail()).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('after delete the name is reusable and the new stream starts at seqNum 0 with no token', async () => {
    const basin = await newBasin({ createStreamOnAppend: true });
    const stream = basin.stream('s');
    await stream.append([{ body: 'old-1' }, { body: 'old-2' }]);
    await stream.fence('old-owner');
    await basin.streams.delete({ stream: 's' });
    await basin.streams.create({ stream: 's' });
    const ack = await stream.append([{ body: 'new' }], { matchSeqNum: 0, fencingToken: '' });
    expect(ack.start.seqNum).toBe(0);
    expect((await stream.read({ seqNum: 0 })).records.map((r) => [r.seqNum, r.body])).toEqual([[0, 'new']]);
  });

  it('delete of a missing stream is StreamNotFoundError', async () => {
    const basin = await newBasin();
    await expect(basin.streams.delete({ stream: 'nope' })).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('delete leaves other streams of the basin alone', async () => {
    const basin = await newBasin({ createStreamOnAppend: true });
    await basin.stream('keep').append([{ body: 'k' }]);
    await basin.stream('drop').append([{ body: 'd' }]);
    await basin.streams.delete({ stream: 'drop' });
    expect((await basin.stream('keep').read({ seqNum: 0 })).records.map((r) => r.body)).toEqual(['k']);
  });

  it('a stream of the same name in two basins is two streams', async () => {
    const one = await newBasin({ createStreamOnAppend: true });
    const two = await newBasin({ createStreamOnAppend: true });
    await one.stream('s').append([{ body: 'one' }]);
    await two.stream('s').append([{ body: 'two-a' }, { body: 'two-b' }]);
    await one.stream('s').fence('one-owner');
    expect(await one.stream('s').checkTail()).toMatchObject({ seqNum: 2 });
    expect(await two.stream('s').checkTail()).toMatchObject({ seqNum: 2 });
    await two.stream('s').append([{ body: 'x' }], { fencingToken: '' });
  });
});

describe('a missing basin', () => {
  const missing = missingBasinName();
  const stream = () => fixture.log.basin(missing).stream('s');
  const streams = () => fixture.log.basin(missing).streams;
  const drain = async (records: AsyncIterable<unknown>) => {
    for await (const _ of records) void _;
  };

  it.each([
    ['append', () => stream().append([{ body: 'x' }])],
    ['read', () => stream().read({ seqNum: 0 })],
    ['checkTail', () => stream().checkTail()],
    ['readSession', () => drain(stream().readSession({ seqNum: 0 }))],
    ['fence', () => stream().fence('t')],
    ['trim', () => stream().trim(1)],
    ['streams.create', () => streams().create({ stream: 's' })],
    ['streams.list', () => streams().list()],
    ['streams.getConfig', () => streams().getConfig({ stream: 's' })],
    ['streams.reconfigure', () => streams().reconfigure({ stream: 's', storageClass: 'express' })],
    ['streams.delete', () => streams().delete({ stream: 's' })],
    ['basins.getConfig', () => fixture.log.basins.getConfig({ basin: missing })],
    [
      'basins.reconfigure',
      () => fixture.log.basins.reconfigure({ basin: missing, createStreamOnRead: true }),
    ],
    ['basins.delete', () => fixture.log.basins.delete({ basin: missing })],
  ])('%s fails with BasinNotFoundError naming the basin', async (_, operation) => {
    const error = await rejectionOf(operation());
    expect(error).toBeInstanceOf(BasinNotFoundError);
    expect(error).toMatchObject({ code: 'basin_not_found', basin: missing, indefinite: false });
  });

  it('is not created by any of those operations', async () => {
    await rejectionOf(stream().append([{ body: 'x' }]));
    await rejectionOf(streams().create({ stream: 's' }));
    expect((await fixture.log.basins.list({ prefix: missing })).basins).toEqual([]);
  });

  it('a basin deleted under a live handle makes the handle’s appends fail with BasinNotFoundError', async () => {
    const basin = await newBasin({ createStreamOnAppend: true });
    const handle = basin.stream('s');
    await handle.append([{ body: 'x' }]);
    await fixture.log.basins.delete({ basin: basin.name });
    await expect(handle.append([{ body: 'y' }])).rejects.toBeInstanceOf(BasinNotFoundError);
  });
});

describe('EventLog.connect', () => {
  it.each([
    ['upper-case letters', 'Fencepost'],
    ['a leading digit', '1fencepost'],
    ['a hyphen', 'fence-post'],
    ['a quote', 'a"; drop schema public; --'],
    ['64 characters', 'a'.repeat(64)],
    ['nothing', ''],
  ])('rejects a schema name with %s with InvalidArgumentError', async (_, schema) => {
    const error = await connectRejection({ connectionString: fixture.connectionString, schema });
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('schema');
    expect((error as Error).message).toContain(JSON.stringify(schema));
  });

  it.each([
    ['an unknown option', { schemas: 'x' }, /schemas/],
    ['max 0', { max: 0 }, /max/],
    ['a negative sweepIntervalMs', { sweepIntervalMs: -1 }, /sweepIntervalMs/],
    ['a fractional idleTimeoutMillis', { idleTimeoutMillis: 1.5 }, /idleTimeoutMillis/],
    ['a non-boolean migrate', { migrate: 'yes' }, /migrate/],
    ['an empty connectionString', { connectionString: '' }, /connectionString/],
    ['a bad default basin name', { basin: 'Bad_Basin' }, /basin name/],
  ])('rejects %s with InvalidArgumentError naming it', async (_, options, message) => {
    const error = await connectRejection({
      connectionString: fixture.connectionString,
      ...(options as ConnectOptions),
    });
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(message);
  });

  it('rejects a call with no connection string, no pool and no DATABASE_URL', async () => {
    const saved = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      const error = await connectRejection({});
      expect(error).toBeInstanceOf(InvalidArgumentError);
    } finally {
      if (saved !== undefined) process.env.DATABASE_URL = saved;
    }
  });

  it('makes pools with generic plans and no JIT, keeping the options of the connection string', async () => {
    const url = new URL(fixture.connectionString);
    url.searchParams.set('options', '-c statement_timeout=12345');
    const log = await fixture.connect({ connectionString: url.toString() });
    const { rows } = await log.pool.query<{ jit: string; plans: string; timeout: string }>(
      `select current_setting('jit') as jit, current_setting('plan_cache_mode') as plans,
         current_setting('statement_timeout') as timeout`,
    );
    expect(rows[0]).toEqual({ jit: 'off', plans: 'force_generic_plan', timeout: '12345ms' });
  });

  it('keeps idle connections of the pools it makes for 5 minutes unless told otherwise', async () => {
    const log = await fixture.connect({});
    expect(log.pool.options.idleTimeoutMillis).toBe(300_000);
    const never = await fixture.connect({ idleTimeoutMillis: 0 });
    expect(never.pool.options.idleTimeoutMillis).toBe(0);
  });

  it('rejects pool settings next to a pool of the caller, naming them', async () => {
    const pool = new pg.Pool({ connectionString: fixture.connectionString, max: 1 });
    try {
      const error = await connectRejection({ pool, max: 4, idleTimeoutMillis: 0 });
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toContain('max 4, idleTimeoutMillis 0');
    } finally {
      await pool.end();
    }
  });

  it('two logs in different schemas of one database are independent', async () => {
    const a = await fixture.connect({ schema: uniqueSchema('tenant_a') });
    const b = await fixture.connect({ schema: uniqueSchema('tenant_b') });
    await a.stream('shared-name').append([{ body: 'a1' }, { body: 'a2' }]);
    await a.stream('shared-name').fence('owner-a');
    const ack = await b.stream('shared-name').append([{ body: 'b1' }], { matchSeqNum: 0, fencingToken: '' });
    expect(ack.start.seqNum).toBe(0);
    expect((await a.stream('shared-name').read({ seqNum: 0 })).records.map((r) => r.body)).toEqual([
      'a1',
      'a2',
      'owner-a',
    ]);
    expect((await b.stream('shared-name').read({ seqNum: 0 })).records.map((r) => r.body)).toEqual(['b1']);
    const basin = uniqueName('only-in-a');
    await a.basins.create({ basin });
    expect((await b.basins.list({ prefix: basin })).basins).toEqual([]);
    await b.basins.create({ basin });
  });

  it('several connects migrating the same fresh schema at once all succeed and share the log', async () => {
    const schema = uniqueSchema('fresh');
    const logs = await Promise.all(Array.from({ length: 4 }, () => fixture.connect({ schema })));
    await logs[0]!.stream('s').append([{ body: 'from-0' }]);
    await logs[3]!.stream('s').append([{ body: 'from-3' }], { matchSeqNum: 1 });
    for (const log of logs) {
      expect((await log.stream('s').read({ seqNum: 0 })).records.map((r) => r.body)).toEqual([
        'from-0',
        'from-3',
      ]);
    }
  });

  it('connecting again to a migrated schema keeps its data', async () => {
    const schema = uniqueSchema('again');
    const first = await fixture.connect({ schema });
    await first.stream('s').append([{ body: 'kept' }]);
    const second = await fixture.connect({ schema });
    expect((await second.stream('s').read({ seqNum: 0 })).records.map((r) => r.body)).toEqual(['kept']);
  });

  it('log.stream() uses the basin given to connect', async () => {
    const basin = await newBasin({ createStreamOnAppend: true });
    const log = await fixture.connect({ basin: basin.name });
    await log.stream('s').append([{ body: 'x' }]);
    expect((await basin.streams.list()).streams.map((s) => s.name)).toEqual(['s']);
  });

  it('a closed log refuses operations with ClosedError', async () => {
    const log = await EventLog.connect({ connectionString: fixture.connectionString, sweepIntervalMs: 0 });
    const stream = log.stream(uniqueName('closed'));
    await stream.append([{ body: 'x' }]);
    await log.close();
    await log.close();
    await expect(stream.append([{ body: 'y' }])).rejects.toBeInstanceOf(ClosedError);
    await expect(stream.read({ seqNum: 0 })).rejects.toMatchObject({ code: 'closed' });
    await expect(log.basins.list()).rejects.toBeInstanceOf(ClosedError);
  });
});
