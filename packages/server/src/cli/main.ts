#!/usr/bin/env node
import { VERSION } from '../version.js';
import { ctlCommand } from './ctl-command.js';
import { devCommand } from './dev-command.js';
import { federationCommand } from './federation-command.js';
import { hashPasswordCommand } from './hash-password-command.js';
import { serverCommand } from './server-command.js';

const USAGE = `cairn ${VERSION}: a service registry with zone-local discovery

Usage: cairn <command> [options]

Commands:
  server         run one replica of a zone registry (cairn server --help)
  dev            run a local multi-zone cluster on 127.0.0.1 (cairn dev --help)
  federation     serve one merged view of several zones (cairn federation --help)
  ctl            administer zones and federation nodes over their APIs (cairn ctl --help)
  hash-password  hash a password or token for an --auth-file (cairn hash-password --help)
  version        print the version
  help           print this help
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'server':
      return serverCommand(rest);
    case 'dev':
      return devCommand(rest);
    case 'federation':
      return federationCommand(rest);
    case 'ctl':
      return ctlCommand(rest);
    case 'hash-password':
      return hashPasswordCommand(rest);
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`cairn: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cairn: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
