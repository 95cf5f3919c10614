/**
 * The certificate, key and CA of a replica, read from their files and checked before use: each
 * file parses, the key belongs to the certificate, and Node accepts the three as one secure
 * context. A reload that fails any of these leaves the replica on its previous material.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle that signs the replicas' certificates; omitted: Node's trusted roots. */
  readonly caFile?: string | undefined;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  /** Of the leaf certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string;
  readonly subject: string;
  readonly validTo: string;
  /** Outside its validity period now (still served: refusing to start would not help anyone). */
  readonly expired: boolean;
}

/** A TLS file that cannot be used; the message names the file and what is wrong with it. */
export class TlsFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'TlsFileError';
  }
}

/** Files bigger than this are not certificates; refuse them rather than read them. */
const TLS_FILE_BYTES_MAX = 1024 * 1024;

export function readTlsMaterial(files: TlsFiles, nowMs = Date.now()): TlsMaterial {
  const cert = readFile(files.certFile);
  const key = readFile(files.keyFile);
  const ca = files.caFile === undefined ? undefined : readFile(files.caFile);

  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new TlsFileError(files.certFile, `not a PEM certificate (${messageOf(err)})`);
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key))) {
      throw new TlsFileError(files.keyFile, `the key does not belong to the certificate in ${files.certFile}`);
    }
  } catch (err) {
    if (err instanceof TlsFileError) throw err;
    throw new TlsFileError(files.keyFile, `not a PEM private key (${messageOf(err)})`);
  }
  if (ca !== undefined && files.caFile !== undefined) {
    try {
      new X509Certificate(ca);
      createSecureContext({ ca });
    } catch (err) {
      throw new TlsFileError(files.caFile, `not a PEM CA bundle (${messageOf(err)})`);
    }
  }
  try {
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new TlsFileError(files.certFile, `refused by TLS (${messageOf(err)})`);
  }
  const expired = nowMs < Date.parse(leaf.validFrom) || nowMs > Date.parse(leaf.validTo);
  return {
    cert,
    key,
    ca,
    fingerprint256: leaf.fingerprint256,
    subject: leaf.subject,
    validTo: leaf.validTo,
    expired,
  };
}

/**
 * A CA bundle on its own (a client's trust, as the federation's `--zone-ca` and `cairn ctl --ca`):
 * the file parses as PEM certificates Node accepts as a CA. Throws TlsFileError naming the file.
 */
export function readCaFile(caFile: string): Buffer {
  const ca = readFile(caFile);
  try {
    new X509Certificate(ca);
    createSecureContext({ ca });
  } catch (err) {
    throw new TlsFileError(caFile, `not a PEM CA bundle (${messageOf(err)})`);
  }
  return ca;
}

function readFile(file: string): Buffer {
  let data: Buffer;
  try {
    if (statSync(file).size > TLS_FILE_BYTES_MAX) throw new Error(`over ${TLS_FILE_BYTES_MAX} bytes`);
    data = readFileSync(file);
  } catch (err) {
    throw new TlsFileError(file, `cannot be read (${messageOf(err)})`);
  }
  if (data.byteLength === 0) throw new TlsFileError(file, 'is empty');
  return data;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
