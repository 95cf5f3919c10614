import { loadServerConfig, serverHelp } from '../config/server-config.js';
import { CairnError } from '../errors.js';
import { ZONE_API_PLUGINS } from '../server/api-plugins.js';
import { startZoneServer, type ZoneServer } from '../server/zone-server.js';
import { TlsFileError } from '../tls/tls-material.js';

/** `cairn server`: runs one replica until SIGTERM/SIGINT, then shuts down cleanly; SIGHUP rereads the TLS files. */
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
  let server: ZoneServer;
  try {
    server = await startZoneServer(config, ZONE_API_PLUGINS);
  } catch (err) {
    if (!(err instanceof TlsFileError)) throw err;
    process.stderr.write(`cairn server: TLS: ${err.message}\n`);
    return 2;
  }
  const reload = () => {
    if (server.tls) server.tls.reload();
    else server.logger.info('SIGHUP: no TLS files to reread');
  };
  // Without a listener SIGHUP would end the process; with TLS it means "reread the certificate".
  process.on('SIGHUP', reload);
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
  process.off('SIGHUP', reload);
  return 0;
}
