import { loadServerConfig, serverHelp } from '../config/server-config.js';
import { CairnError } from '../errors.js';
import { ZONE_API_PLUGINS } from '../server/api-plugins.js';
import { startZoneServer } from '../server/zone-server.js';

/** `cairn server`: runs one replica until SIGTERM/SIGINT, then shuts down cleanly. */
export async function serverCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(serverHelp());
    return 0;
  }
  let config: ReturnType<typeof loadServerConfig>;
  try {
    config = loadServerConfig(argv);
  } catch (err) {
    if (err instanceof CairnError) {
      process.stderr.write(`cairn server: ${err.message}\n`);
      for (const f of err.fields) process.stderr.write(`  ${f.field}: ${f.message}\n`);
    } else {
      process.stderr.write(`cairn server: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.stderr.write('Run `cairn server --help` for the options.\n');
    return 2;
  }
  const server = await startZoneServer(config, ZONE_API_PLUGINS);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.logger.info({ signal }, 'shutting down');
      server.close().then(resolve, (err: unknown) => {
        server.logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
