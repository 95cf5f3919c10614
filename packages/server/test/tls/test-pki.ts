// Throwaway certificate authorities and certificates for the TLS tests, made with Debian's openssl
// CLI in a temp dir: P-256 keys, valid for two days, for 127.0.0.1 and localhost, usable as server
// and as client certificates (replicas are both).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why the TLS tests are skipped, or false when they can run. */
export const SKIP_WITHOUT_OPENSSL: string | false =
  spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0
    ? false
    : 'the openssl CLI is not installed: the TLS tests need it to make throwaway certificates';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestCa {
  readonly name: string;
  /** The CA certificate (PEM file). */
  readonly cert: string;
  readonly pem: Buffer;
  /** Issues a leaf certificate for 127.0.0.1 and localhost, for server and client use. */
  issue(name: string): CertFiles;
}

export interface TestPki {
  readonly dir: string;
  newCa(name: string): TestCa;
  cleanup(): void;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-pki-'));
  const leafExt = join(dir, 'leaf.ext');
  writeFileSync(
    leafExt,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  return {
    dir,
    newCa(name) {
      const caKey = join(dir, `${name}.key`);
      const caCert = join(dir, `${name}.pem`);
      openssl(
        [
          'req',
          '-x509',
          ...KEY_ARGS,
          '-keyout',
          caKey,
          '-out',
          caCert,
          '-days',
          '2',
          '-subj',
          `/CN=${name}`,
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign',
        ],
        dir,
      );
      return {
        name,
        cert: caCert,
        pem: readFileSync(caCert),
        issue(leaf) {
          const key = join(dir, `${name}-${leaf}.key`);
          const csr = join(dir, `${name}-${leaf}.csr`);
          const cert = join(dir, `${name}-${leaf}.pem`);
          openssl(['req', '-new', ...KEY_ARGS, '-keyout', key, '-out', csr, '-subj', `/CN=${leaf}`], dir);
          openssl(
            [
              'x509',
              '-req',
              '-in',
              csr,
              '-CA',
              caCert,
              '-CAkey',
              caKey,
              '-set_serial',
              `0x${randomBytes(8).toString('hex')}`,
              '-days',
              '2',
              '-extfile',
              leafExt,
              '-out',
              cert,
            ],
            dir,
          );
          return { cert, key };
        },
      };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
