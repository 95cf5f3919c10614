import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CairnError, httpStatusOf, VERSION } from '../src/index.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

describe('errors', () => {
  it('maps each code to one HTTP status and serializes fields only when present', () => {
    assert.equal(httpStatusOf('VALIDATION_FAILED'), 400);
    assert.equal(httpStatusOf('NO_LEADER'), 503);
    const err = new CairnError('VALIDATION_FAILED', 'bad input', [{ field: 'port', message: 'must be 1-65535' }]);
    assert.equal(err.httpStatus, 400);
    assert.deepEqual(JSON.parse(JSON.stringify(err)), {
      code: 'VALIDATION_FAILED',
      message: 'bad input',
      fields: [{ field: 'port', message: 'must be 1-65535' }],
    });
    assert.deepEqual(new CairnError('NOT_FOUND', 'no such service').toJSON(), {
      code: 'NOT_FOUND',
      message: 'no such service',
    });
  });
});

describe('cairn CLI', () => {
  it('prints its version and help, and refuses an unknown command with exit code 2', () => {
    assert.equal(execFileSync(process.execPath, [cli, 'version'], { encoding: 'utf8' }).trim(), VERSION);
    assert.match(execFileSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }), /Usage: cairn <command>/);
    const bad = spawnSync(process.execPath, [cli, 'frobnicate'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command 'frobnicate'/);
  });
});
