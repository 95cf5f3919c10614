#!/usr/bin/env node
// Runs every compiled test file of every package and of test/ through Node's built-in test runner.
// Node 20's runner takes no globs, so the files are listed here; extra arguments pass through
// (e.g. `node scripts/run-tests.mjs --test-name-pattern=figure`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['packages/raft/dist/test', 'packages/server/dist/test', 'packages/client-sdk/dist/test', 'test/dist'];

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = roots.flatMap((r) => collect(r, [])).filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error('run-tests: no compiled test files found; run `npm run build` first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', ...flags, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
