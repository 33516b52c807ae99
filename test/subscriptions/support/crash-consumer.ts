/**
 * A consumer in a child process, for the crash test: `tsx crash-consumer.ts <url> <consumer> <prefix> <n>`
 * applies batches to the read model, and inside its n-th batch, after writing, tells the parent
 * ('mid-batch') and hangs there with its transaction open until the parent kills it.
 */
import { EventLog } from '../../../src/index.js';
import { applyToReadModel } from './read-model.js';

const [url, consumer, prefix, killAt] = process.argv.slice(2) as [string, string, string, string];
const log = await EventLog.connect({ connectionString: url, max: 2, sweepIntervalMs: 0 });
let batches = 0;
await log.consumer(consumer, { filter: { streamPrefix: prefix }, batchSize: 10 }).run(async (batch, trx) => {
  await applyToReadModel(trx, consumer, batch);
  if (++batches === Number(killAt)) {
    process.send?.('mid-batch');
    await new Promise(() => {}); // hangs inside the transaction: the parent's SIGKILL ends it here
  }
});
