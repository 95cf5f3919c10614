import { CairnError } from '../errors.js';
import { type FederationConfig, federationHelp, loadFederationConfig } from '../federation/config/federation-config.js';
import { startFederationServer } from '../federation/federation-server.js';
import { TlsFileError } from '../tls/tls-material.js';

/**
 * `cairn federation`: runs one federation node until SIGTERM/SIGINT, then shuts down cleanly; SIGHUP
 * rereads its TLS files (--tls-cert, --tls-key) and the zone CA (--zone-ca).
 */
export async function federationCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(federationHelp());
    return 0;
  }
  let config: FederationConfig;
  try {
    config = loadFederationConfig(argv);
  } catch (err) {
    if (err instanceof CairnError) {
      process.stderr.write(`cairn federation: ${err.message}\n`);
      for (const f of err.fields) process.stderr.write(`  ${f.field}: ${f.message}\n`);
    } else {
      process.stderr.write(`cairn federation: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.stderr.write('Run `cairn federation --help` for the options.\n');
    return 2;
  }
  // Stop on the first signal even while still starting (a zone that is down does not hold start-up).
  let stopRequested: string | null = null;
  let onStop: ((signal: string) => void) | null = null;
  const signalled = (signal: string) => {
    stopRequested ??= signal;
    onStop?.(signal);
  };
  process.once('SIGTERM', () => signalled('SIGTERM'));
  process.once('SIGINT', () => signalled('SIGINT'));
  let server: Awaited<ReturnType<typeof startFederationServer>>;
  try {
    server = await startFederationServer(config);
  } catch (err) {
    if (err instanceof TlsFileError) {
      process.stderr.write(`cairn federation: TLS: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`cairn federation: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  // Without a listener SIGHUP would end the process; here it means "reread the certificates".
  const reload = () => server.reloadTls();
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    onStop = (signal) => {
      server.logger.info({ signal }, 'shutting down');
      server.close().then(resolve, (err: unknown) => {
        server.logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    if (stopRequested) onStop(stopRequested);
  });
  process.off('SIGHUP', reload);
  return 0;
}
