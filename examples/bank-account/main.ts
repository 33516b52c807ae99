/**
 * The bank-account example: `npm start`. A NestJS HTTP service on fencepost (see the README's "The
 * bank-account example"). Listens on `PORT` (default 3000); uses `DATABASE_URL` when set, else an embedded
 * PostgreSQL in `.fencepost/pg`. Ctrl-C stops it (and the embedded server).
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { startExampleDatabase } from '../support/database.js';
import { BankModule } from './bank.module.js';
import { accountIdOf } from './idempotency.js';

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  throw new Error(`PORT must be a TCP port number (0-65535); got ${JSON.stringify(process.env.PORT)}`);
}

const database = await startExampleDatabase();
const app = await NestFactory.create(BankModule.forRoot({ connectionString: database.connectionString }), {
  logger: ['error', 'warn'],
}).catch(async (error: unknown) => {
  await database.stop();
  throw error;
});
await app.listen(port);
const url = `http://localhost:${new URL(await app.getUrl()).port}`;
// Accounts opened with an Idempotency-Key get an id derived from it, so the ids below are known in advance.
const [ada, bob] = [accountIdOf('open-ada'), accountIdOf('open-bob')];
const json = `-H 'content-type: application/json'`;

console.log(`
The bank-account example listens on ${url}. Try (each Idempotency-Key makes a request safe to repeat):

  curl -s -X POST ${url}/accounts ${json} -H 'Idempotency-Key: open-ada' -d '{"owner":"Ada"}'
  curl -s -X POST ${url}/accounts ${json} -H 'Idempotency-Key: open-bob' -d '{"owner":"Bob"}'
  curl -s -X POST ${url}/accounts/${ada}/deposit ${json} -H 'Idempotency-Key: salary-1' -d '{"amount":10000}'
  curl -s -X POST ${url}/accounts/${ada}/withdraw ${json} -d '{"amount":99999}'
  curl -s -X POST ${url}/transfers ${json} -H 'Idempotency-Key: rent-1' -d '{"from":"${ada}","to":"${bob}","amount":2500}'
  curl -s ${url}/accounts/${bob}

The withdrawal is refused (409, with the balance); repeating any request with its key changes nothing.

Press Ctrl-C to stop.`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await app.close(); // closes the HTTP server, then fencepost's pool
      await database.stop();
      process.exit(0);
    })();
  });
}
