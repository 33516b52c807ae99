/**
 * Nothing is left running after `app.close()`: a real process boots the bank example's Nest app (under tsx,
 * as `npm start` does), serves a request, closes the app and must then exit by itself, with every connection
 * it opened gone from pg_stat_activity.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { adminQuery, useTestDatabase } from '../support/database.js';
import { eventually } from '../support/assertions.js';

const db = useTestDatabase();
const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'boot-and-close.ts');

describe('application shutdown', () => {
  it('leaves nothing running: the process exits on its own and its connections are gone', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, db.connectionString], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(
        () => output.includes('closed'),
        `the app to close (output so far: ${output})`,
        20_000,
      );
      // Closed: from here the process must end by itself, with no process.exit anywhere.
      const code = await Promise.race([
        exited,
        new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 10_000)),
      ]);
      expect(code, output).toBe(0);
      expect(output).toContain('status 201');
    } finally {
      child.kill('SIGKILL');
    }
    await eventually(
      async () =>
        (await adminQuery('SELECT 1 FROM pg_stat_activity WHERE datname = $1', [db.name])).length === 0,
      'no backend on the test database',
    );
  }, 40_000);
});
