/**
 * Emmett 0.42's PostgreSQL event store, through its public API only: getPostgreSQLEventStore, appendToStream
 * with expectedStreamVersion, readStream. Its tables live in the bench database's `public` schema (Emmett takes
 * no schema option); this process is the only one that touches them.
 *
 * Emmett's stream version is the number of events in the stream (0 for a stream that does not exist yet), so
 * the expected version of an append is the same number as fencepost's matchSeqNum.
 */
import { CommandHandler, isExpectedVersionConflictError } from '@event-driven-io/emmett';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import { BODY_V1, ORDER } from '../aggregate.js';
import { BODY, EVENT_TYPE } from '../workloads.js';
import type { BenchSystem, SystemFactory } from './system.js';
import { check, IDLE_TIMEOUT_MS, race, spreadAppends, timed } from './system.js';

type OrderPlaced = { type: typeof EVENT_TYPE; data: Record<string, unknown> };

/** Emmett stores `data` as jsonb; the body's JSON is parsed once and the same object appended every time. */
const EVENT: OrderPlaced = { type: EVENT_TYPE, data: JSON.parse(BODY) as Record<string, unknown> };
/** The same event as stored before `currency` existed (half of load-10k's stream; upcast on read). */
const EVENT_V1: OrderPlaced = { type: EVENT_TYPE, data: JSON.parse(BODY_V1) as Record<string, unknown> };

interface Book {
  orders: number;
  total: number;
}
const initialState = (): Book => ({ orders: 0, total: 0 });
const evolve = (state: Book, event: OrderPlaced): Book => ({
  orders: state.orders + 1,
  total: state.total + (event.data.amount as number),
});
const upcast = (event: OrderPlaced): OrderPlaced =>
  event.data.currency === undefined ? { ...event, data: { ...event.data, currency: 'EUR' } } : event;
const handle = CommandHandler<Book, OrderPlaced>({ evolve, initialState });

export const create: SystemFactory = async ({ connectionString, poolSize }) => {
  // Emmett's default pool is pg's default (max 10); give it the same 16 connections the others get. With
  // `pool` given, Emmett's close() leaves the pool open, so this module ends it.
  const pool = new pg.Pool({ connectionString, max: poolSize, idleTimeoutMillis: IDLE_TIMEOUT_MS });
  const store = getPostgreSQLEventStore(connectionString, { connectionOptions: { pool } });
  await store.schema.migrate();

  const version = async (stream: string): Promise<bigint> =>
    (await store.readStream<OrderPlaced>(stream)).currentStreamVersion;

  const system: BenchSystem = {
    name: 'emmett',
    notes: {
      'append-seq': 'appendToStream(stream, [event], { expectedStreamVersion: BigInt(i) })',
      'append-16': 'the same, 16 in flight; Emmett given a pg.Pool of 16 (its default would be 10)',
      'append-batch': 'appendToStream with 100 events and expectedStreamVersion',
      'race-8':
        'no check-tail in the API: each writer catches up with readStream(stream, { from: known + 1n }) ' +
        '(only the records it has not seen) and appends with expectedStreamVersion; a conflict is ' +
        'ExpectedVersionConflictError (it carries current = -1, not the real version)',
      'read-10k': 'readStream(stream): one query for the whole stream (Emmett has no paged read)',
      'load-10k':
        'aggregateStream(stream, { evolve, initialState, read: { schema: { versioning: { upcast } } } }); ' +
        'half the events stored without currency, upcast on read',
      'commands-16':
        "CommandHandler({ evolve, initialState })(store, id, decide): Emmett's command handler (aggregateStream, " +
        'then appendToStream with the expected version), append-16 shape, 16 in flight',
    },

    async reset() {
      await store.schema.dangerous.truncate();
    },

    async appendSeq(p, { prefix }) {
      const stream = `orders-${prefix}-seq`;
      const { ms } = await timed(async () => {
        for (let i = 0; i < p.count; i++) {
          await store.appendToStream(stream, [EVENT], { expectedStreamVersion: BigInt(i) });
        }
      });
      check('append-seq version', await version(stream), BigInt(p.count));
      return { records: p.count, ms };
    },

    async append16(p, { prefix }) {
      const { ms } = await timed(() =>
        spreadAppends(p, async (s, v) => {
          await store.appendToStream(`orders-${prefix}-s${s}`, [EVENT], { expectedStreamVersion: BigInt(v) });
        }),
      );
      const perStream = Math.ceil(p.count / p.streams);
      check('append-16 version of stream 0', await version(`orders-${prefix}-s0`), BigInt(perStream));
      return { records: p.count, ms };
    },

    async appendBatch(p, { prefix }) {
      const stream = (pass: number) => `orders-${prefix}-batch-${pass}`;
      const batch = Array.from({ length: p.batchSize }, () => EVENT);
      const { ms } = await timed(async () => {
        for (let pass = 0; pass < p.passes; pass++) {
          for (let i = 0; i < p.batches; i++) {
            const expectedStreamVersion = BigInt(i * p.batchSize);
            await store.appendToStream(stream(pass), batch, { expectedStreamVersion });
          }
        }
      });
      for (let pass = 0; pass < p.passes; pass++) {
        check('append-batch version', await version(stream(pass)), BigInt(p.batches * p.batchSize));
      }
      return { records: p.batches * p.batchSize * p.passes, ms };
    },

    async race8(p, { prefix }) {
      const stream = `orders-${prefix}-race`;
      const known = Array.from({ length: p.writers }, () => 0n);
      const { ms, value: conflicts } = await timed(() =>
        race(p, async (w) => {
          const seen = await store.readStream<OrderPlaced>(stream, { from: (known[w] ?? 0n) + 1n });
          if (seen.events.length > 0) known[w] = seen.currentStreamVersion;
          try {
            const result = await store.appendToStream(stream, [EVENT], { expectedStreamVersion: known[w] });
            known[w] = result.nextExpectedStreamVersion;
            return true;
          } catch (error) {
            if (isExpectedVersionConflictError(error)) return false;
            throw error;
          }
        }),
      );
      check('race-8 version', await version(stream), BigInt(p.total));
      return { records: p.total, ms, conflicts };
    },

    async read10k(p, { prefix }) {
      const stream = `orders-${prefix}-read`;
      for (let v = 0; v < p.records; v += 1000) {
        const n = Math.min(1000, p.records - v);
        await store.appendToStream(
          stream,
          Array.from({ length: n }, () => EVENT),
          {
            expectedStreamVersion: BigInt(v),
          },
        );
      }
      const { ms } = await timed(async () => {
        for (let pass = 0; pass < p.passes; pass++) {
          const { events, currentStreamVersion } = await store.readStream<OrderPlaced>(stream);
          check('read-10k events', events.length, p.records);
          check('read-10k version', currentStreamVersion, BigInt(p.records));
        }
      });
      return { records: p.records * p.passes, ms };
    },

    async load10k(p, { prefix }) {
      const stream = `orders-${prefix}-load`;
      for (let v = 0; v < p.records; v += 1000) {
        const n = Math.min(1000, p.records - v);
        const events = Array.from({ length: n }, (_, i) => ((v + i) % 2 === 0 ? EVENT_V1 : EVENT));
        await store.appendToStream(stream, events, { expectedStreamVersion: BigInt(v) });
      }
      const { ms } = await timed(async () => {
        for (let pass = 0; pass < p.passes; pass++) {
          const { state, currentStreamVersion } = await store.aggregateStream<Book, OrderPlaced>(stream, {
            evolve,
            initialState,
            read: { schema: { versioning: { upcast } } },
          });
          check('load-10k orders', state.orders, p.records);
          check('load-10k version', currentStreamVersion, BigInt(p.records));
        }
      });
      return { records: p.records * p.passes, ms };
    },

    async commands16(p, { prefix }) {
      const { ms } = await timed(() =>
        spreadAppends(p, async (s, v) => {
          const result = await handle(store, `orders-${prefix}-c${s}`, () => ({ ...EVENT, data: ORDER }));
          check('commands-16 version', result.nextExpectedStreamVersion, BigInt(v + 1));
        }),
      );
      check(
        'commands-16 version of aggregate 0',
        await version(`orders-${prefix}-c0`),
        BigInt(Math.ceil(p.count / p.streams)),
      );
      return { records: p.count, ms };
    },

    async close() {
      await store.close();
      await pool.end();
    },
  };
  return system;
};
