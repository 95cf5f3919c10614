#!/usr/bin/env node
import { VERSION } from '../version.js';

const USAGE = `cairn ${VERSION}: a service registry with zone-local discovery

Usage: cairn <command> [options]

Commands:
  version     print the version
  help        print this help

Commands land here as the parts they run are built.
`;

function main(argv: readonly string[]): number {
  const [command = 'help'] = argv;
  switch (command) {
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

process.exitCode = main(process.argv.slice(2));
