/**
 * fencepost as the bench runs it: the compiled package in `dist/` (which `npm run bench` builds first), as an
 * application runs it, and as Emmett and pg come, compiled, from node_modules. fencepost's TypeScript run
 * through tsx would carry tsx's helper that names every closure as it is made (measured: 16-in-flight appends
 * about 5% slower, 57 µs of client CPU per append against 52 µs compiled).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as Fencepost from '../src/index.js';

const COMPILED = new URL('../dist/src/index.js', import.meta.url);

/** The compiled package's exports, typed by its sources. @throws when `dist/` was not built. */
export async function loadFencepost(): Promise<typeof Fencepost> {
  if (!existsSync(fileURLToPath(COMPILED))) {
    throw new Error(
      `bench: ${fileURLToPath(COMPILED)} is missing; run \`npm run build\` (npm run bench does)`,
    );
  }
  return (await import(COMPILED.href)) as typeof Fencepost;
}
