/**
 * The baseline: the physical limit of the append and read paths. One table, no stream rows, no conditions
 * beyond the primary key; named prepared statements (pg prepares a named query once per connection).
 */
import pg from 'pg';
import { BODY } from '../workloads.js';
import type { BenchSystem, SystemFactory } from './system.js';
import { check, IDLE_TIMEOUT_MS, race, spreadAppends, timed } from './system.js';

const SCHEMA = 'plain_pg';
const TABLE = `${SCHEMA}.records`;
const DATA = Buffer.from(BODY, 'utf8');

const INSERT_ONE: Omit<pg.QueryConfig, 'values'> = {
  name: 'plain_pg_insert_one',
  text: `insert into ${TABLE} (stream, seq, data) values ($1, $2, $3)`,
};
const INSERT_BATCH: Omit<pg.QueryConfig, 'values'> = {
  name: 'plain_pg_insert_batch',
  text:
    `insert into ${TABLE} (stream, seq, data) ` +
    `select $1, $2::bigint + u.o - 1, u.d from unnest($3::bytea[]) with ordinality as u(d, o)`,
};
const READ_PAGE: Omit<pg.QueryConfig, 'values'> = {
  name: 'plain_pg_read_page',
  text: `select seq, data from ${TABLE} where stream = $1 and seq >= $2 order by seq limit $3`,
};
const READ_ALL: Omit<pg.QueryConfig, 'values'> = {
  name: 'plain_pg_read_all',
  text: `select seq, data from ${TABLE} where stream = $1 order by seq`,
};
const TAIL: Omit<pg.QueryConfig, 'values'> = {
  name: 'plain_pg_tail',
  text: `select coalesce(max(seq) + 1, 0) as next from ${TABLE} where stream = $1`,
};

const UNIQUE_VIOLATION = '23505';

export const create: SystemFactory = async ({ connectionString, poolSize }) => {
  const pool = new pg.Pool({ connectionString, max: poolSize, idleTimeoutMillis: IDLE_TIMEOUT_MS });
  await pool.query(`create schema if not exists ${SCHEMA}`);
  await pool.query(
    `create table if not exists ${TABLE} (stream text, seq bigint, data bytea, primary key (stream, seq))`,
  );

  const insertOne = async (stream: string, seq: number): Promise<void> => {
    await pool.query({ ...INSERT_ONE, values: [stream, seq, DATA] });
  };
  const count = async (stream: string): Promise<number> => {
    const { rows } = await pool.query<{ n: string }>(`select count(*) as n from ${TABLE} where stream = $1`, [
      stream,
    ]);
    return Number(rows[0]?.n);
  };

  const system: BenchSystem = {
    name: 'plain-pg',
    notes: {
      'append-seq': 'named prepared single-row INSERT through a pg.Pool',
      'append-16': 'the same INSERT, 16 in flight through a pg.Pool of 16',
      'append-batch': 'one named prepared INSERT … SELECT FROM unnest($3::bytea[]) WITH ORDINALITY per batch',
      'race-8':
        'context only: SELECT max(seq)+1 then the INSERT; a primary-key violation (23505) is the conflict',
      'read-10k': 'keyset pages: SELECT … WHERE stream = $1 AND seq >= $2 ORDER BY seq LIMIT <pageSize>',
      'load-10k': 'the baseline of an aggregate load: one SELECT seq, data … ORDER BY seq of all its rows',
    },

    async reset() {
      await pool.query(`truncate ${TABLE}`);
    },

    async appendSeq(p, { prefix }) {
      const stream = `${prefix}-seq`;
      const { ms } = await timed(async () => {
        for (let i = 0; i < p.count; i++) await insertOne(stream, i);
      });
      check('append-seq rows', await count(stream), p.count);
      return { records: p.count, ms };
    },

    async append16(p, { prefix }) {
      const { ms } = await timed(() =>
        spreadAppends(p, (s, version) => insertOne(`${prefix}-s${s}`, version)),
      );
      const { rows } = await pool.query<{ n: string }>(
        `select count(*) as n from ${TABLE} where stream like $1`,
        [`${prefix}-s%`],
      );
      check('append-16 rows', Number(rows[0]?.n), p.count);
      return { records: p.count, ms };
    },

    async appendBatch(p, { prefix }) {
      const stream = (pass: number) => `${prefix}-batch-${pass}`;
      const batch = Array.from({ length: p.batchSize }, () => DATA);
      const { ms } = await timed(async () => {
        for (let pass = 0; pass < p.passes; pass++) {
          for (let i = 0; i < p.batches; i++) {
            await pool.query({ ...INSERT_BATCH, values: [stream(pass), i * p.batchSize, batch] });
          }
        }
      });
      for (let pass = 0; pass < p.passes; pass++) {
        check('append-batch rows', await count(stream(pass)), p.batches * p.batchSize);
      }
      return { records: p.batches * p.batchSize * p.passes, ms };
    },

    async race8(p, { prefix }) {
      const stream = `${prefix}-race`;
      const { ms, value: conflicts } = await timed(() =>
        race(p, async () => {
          const { rows } = await pool.query<{ next: string }>({ ...TAIL, values: [stream] });
          try {
            await insertOne(stream, Number(rows[0]?.next));
            return true;
          } catch (error) {
            if ((error as { code?: string }).code === UNIQUE_VIOLATION) return false;
            throw error;
          }
        }),
      );
      check('race-8 rows', await count(stream), p.total);
      return { records: p.total, ms, conflicts };
    },

    async read10k(p, { prefix }) {
      const stream = `${prefix}-read`;
      const batch = Array.from({ length: 1000 }, () => DATA);
      for (let seq = 0; seq < p.records; seq += batch.length) {
        await pool.query({ ...INSERT_BATCH, values: [stream, seq, batch.slice(0, p.records - seq)] });
      }
      const { ms } = await timed(async () => {
        for (let pass = 0; pass < p.passes; pass++) {
          let next = 0;
          let bytes = 0;
          for (;;) {
            const { rows } = await pool.query<{ seq: string; data: Buffer }>({
              ...READ_PAGE,
              values: [stream, next, p.pageSize],
            });
            for (const row of rows) bytes += row.data.length;
            if (rows.length > 0) next = Number(rows[rows.length - 1]?.seq) + 1;
            if (rows.length < p.pageSize) break;
          }
          check('read-10k records', next, p.records);
          check('read-10k bytes', bytes, p.records * DATA.length);
        }
      });
      return { records: p.records * p.passes, ms };
    },

    async load10k(p, { prefix }) {
      const stream = `${prefix}-load`;
      const batch = Array.from({ length: 1000 }, () => DATA);
      for (let seq = 0; seq < p.records; seq += batch.length) {
        await pool.query({ ...INSERT_BATCH, values: [stream, seq, batch.slice(0, p.records - seq)] });
      }
      const { ms } = await timed(async () => {
        for (let pass = 0; pass < p.passes; pass++) {
          const { rows } = await pool.query<{ seq: string; data: Buffer }>({ ...READ_ALL, values: [stream] });
          check('load-10k rows', rows.length, p.records);
        }
      });
      return { records: p.records * p.passes, ms };
    },

    async close() {
      await pool.end();
    },
  };
  return system;
};
