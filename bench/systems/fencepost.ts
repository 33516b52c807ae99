/** fencepost, the system under test, through its public API (compiled: see library.ts). */
import pg from 'pg';
import { loadFencepost } from '../library.js';
import { Book, orderRecord, ORDER, snapshotted } from '../aggregate.js';
import { BODY, EVENT_TYPE, type Params } from '../workloads.js';
import type { BenchSystem, SystemFactory } from './system.js';
import { check, IDLE_TIMEOUT_MS, race, spreadAppends, timed } from './system.js';

const { AggregateRepository, CommandHandler, EventLog, SeqNumMismatchError } = await loadFencepost();

export const SCHEMA = 'fp_bench';

const RECORD = { body: BODY, headers: [['type', EVENT_TYPE]] as [string, string][] };

export const create: SystemFactory = async ({ connectionString, poolSize }) => {
  const log = await EventLog.connect({
    connectionString,
    max: poolSize,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    schema: SCHEMA,
  });
  // Only for reset(): a connection of its own, outside the log's pool.
  const admin = new pg.Client({ connectionString });
  await admin.connect();

  const tail = async (stream: string): Promise<number> => (await log.stream(stream).checkTail()).seqNum;

  /** `count` OrderPlaced events, alternately stored at versions 1 and 2, appended 1,000 per batch. */
  const seedOrders = async (streamName: string, count: number): Promise<void> => {
    const stream = log.stream(streamName);
    for (let seq = 0; seq < count; seq += 1000) {
      const n = Math.min(1000, count - seq);
      const records = Array.from({ length: n }, (_, i) =>
        orderRecord((seq + i) % 2 === 0 ? 1 : 2, `e${seq + i}`),
      );
      await stream.append(records, { matchSeqNum: seq });
    }
  };

  /** Loads of an aggregate of `events` events with snapshots every `every`; one untimed load takes the snapshot. */
  const snapshotLoads = async (p: Params['snapshots'], events: number, id: string) => {
    const repository = new AggregateRepository(log, snapshotted(p.every));
    await seedOrders(repository.streamName(id), events);
    await repository.load(id);
    const { ms } = await timed(async () => {
      for (let i = 0; i < p.loads; i++) {
        const { state } = await repository.load(id);
        check('snapshot load orders', state.orders, events);
        check('snapshot load total', Math.round(state.total * 100), Math.round(events * ORDER.amount * 100));
      }
    });
    return { records: p.loads, ms };
  };

  const system: BenchSystem = {
    name: 'fencepost',
    notes: {
      'append-seq': 'stream.append([record], { matchSeqNum: i })',
      'append-16':
        'the same, 16 in flight; EventLog.connect({ max: 16 }) with group commit on (the default: at most 2 ' +
        'statements of single-record appends run, the appends waiting behind them go together)',
      'append-batch': 'stream.append(100 records, { matchSeqNum })',
      'race-8':
        'append({ matchSeqNum: expected }); the next expected comes from the ack (end.seqNum) or from the ' +
        'SeqNumMismatchError (expectedSeqNum, the true tail): no separate read of the tail',
      'read-10k':
        'for await (const r of stream.readSession({ seqNum: 0 })): the catch-up iterator (pages of 2,000; ' +
        'the next page is asked for while the current one is consumed)',
      session: 'appendSession(): submit every 1-record batch with matchSeqNum, await all acks, close()',
      'load-10k':
        'AggregateRepository.load: readSession pages, each record decoded (headers, JSON.parse, half upcast ' +
        'v1 → v2, zod parse of v2) and folded',
      'snap-100':
        'load of a 100-event aggregate with snapshots every 100 (a snapshot at 100, no events after it)',
      'snap-100k':
        'load of a 100,000-event aggregate with snapshots every 100 (snapshot read + empty tail read)',
      'commands-16':
        'CommandHandler.handle(id, command, { commandId }): load → decide → appendMany with matchSeqNum and ' +
        'the command id recorded in the same statement (group commit as in append-16); append-16 shape, 16 in ' +
        'flight. The handler caches the last state of 1,000 aggregates, so only the first command on each ' +
        'aggregate loads it',
      reset: 'TRUNCATE records, streams (keeps basins and the migration tables); fresh stream names per run',
    },

    async reset() {
      await admin.query(`truncate "${SCHEMA}".records, "${SCHEMA}".streams cascade`);
    },

    async appendSeq(p, { prefix }) {
      const stream = log.stream(`${prefix}-seq`);
      const { ms } = await timed(async () => {
        for (let i = 0; i < p.count; i++) await stream.append([RECORD], { matchSeqNum: i });
      });
      check('append-seq tail', await tail(`${prefix}-seq`), p.count);
      return { records: p.count, ms };
    },

    async append16(p, { prefix }) {
      const { ms } = await timed(() =>
        spreadAppends(p, async (s, v) => {
          await log.stream(`${prefix}-s${s}`).append([RECORD], { matchSeqNum: v });
        }),
      );
      check('append-16 tail of stream 0', await tail(`${prefix}-s0`), Math.ceil(p.count / p.streams));
      return { records: p.count, ms };
    },

    async appendBatch(p, { prefix }) {
      const stream = (pass: number) => `${prefix}-batch-${pass}`;
      const batch = Array.from({ length: p.batchSize }, () => RECORD);
      const { ms } = await timed(async () => {
        for (let pass = 0; pass < p.passes; pass++) {
          const s = log.stream(stream(pass));
          for (let i = 0; i < p.batches; i++) await s.append(batch, { matchSeqNum: i * p.batchSize });
        }
      });
      for (let pass = 0; pass < p.passes; pass++) {
        check('append-batch tail', await tail(stream(pass)), p.batches * p.batchSize);
      }
      return { records: p.batches * p.batchSize * p.passes, ms };
    },

    async race8(p, { prefix }) {
      const stream = log.stream(`${prefix}-race`);
      // Each writer learns the tail once, then from each outcome: an ack's end, or a conflict's
      // expectedSeqNum (the true tail, which is what the error carries it for). A new stream has tail 0.
      const expected = Array.from({ length: p.writers }, () => 0);
      const { ms, value: conflicts } = await timed(() =>
        race(p, async (writer) => {
          try {
            const ack = await stream.append([RECORD], { matchSeqNum: expected[writer] });
            expected[writer] = ack.end.seqNum;
            return true;
          } catch (error) {
            if (!(error instanceof SeqNumMismatchError)) throw error;
            expected[writer] = error.expectedSeqNum;
            return false;
          }
        }),
      );
      check('race-8 tail', await tail(`${prefix}-race`), p.total);
      return { records: p.total, ms, conflicts };
    },

    async read10k(p, { prefix }) {
      const stream = log.stream(`${prefix}-read`);
      const batch = Array.from({ length: 1000 }, () => RECORD);
      for (let seq = 0; seq < p.records; seq += batch.length) {
        await stream.append(batch.slice(0, p.records - seq), { matchSeqNum: seq });
      }
      const { ms } = await timed(async () => {
        for (let pass = 0; pass < p.passes; pass++) {
          let next = 0;
          let bytes = 0;
          for await (const record of stream.readSession({ seqNum: 0 })) {
            check('read-10k order', record.seqNum, next);
            next++;
            bytes += record.body.length;
          }
          check('read-10k records', next, p.records);
          check('read-10k body chars', bytes, p.records * BODY.length);
        }
      });
      return { records: p.records * p.passes, ms };
    },

    async session(p, { prefix }) {
      const stream = log.stream(`${prefix}-session`);
      const { ms } = await timed(async () => {
        const session = stream.appendSession();
        const acks: Promise<unknown>[] = [];
        for (let i = 0; i < p.count; i++) acks.push(session.submit([RECORD], { matchSeqNum: i }));
        await Promise.all(acks);
        await session.close();
      });
      check('session tail', await tail(`${prefix}-session`), p.count);
      return { records: p.count, ms };
    },

    async load10k(p, { prefix }) {
      const repository = new AggregateRepository(log, Book);
      const id = `${prefix}-load`;
      await seedOrders(repository.streamName(id), p.records);
      const { ms } = await timed(async () => {
        for (let pass = 0; pass < p.passes; pass++) {
          const { state, version } = await repository.load(id);
          check('load-10k version', version, p.records);
          check('load-10k orders', state.orders, p.records);
        }
      });
      return { records: p.records * p.passes, ms };
    },

    async snap100(p, ctx) {
      return snapshotLoads(p, p.small, `${ctx.prefix}-snap-small`);
    },

    async snap100k(p, ctx) {
      return snapshotLoads(p, p.large, `${ctx.prefix}-snap-large`);
    },

    async commands16(p, { prefix }) {
      const commands = new CommandHandler(log, Book);
      let n = 0;
      const { ms } = await timed(() =>
        spreadAppends(p, async (s, v) => {
          const result = await commands.handle(
            `${prefix}-c${s}`,
            { type: 'Place' },
            { commandId: `cmd-${n++}` },
          );
          check('commands-16 version', result.version, v + 1);
        }),
      );
      const { version } = await commands.repository.load(`${prefix}-c0`);
      check('commands-16 version of aggregate 0', version, Math.ceil(p.count / p.streams));
      return { records: p.count, ms };
    },

    async close() {
      await admin.end();
      await log.close();
    },
  };
  return system;
};
