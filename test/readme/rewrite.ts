// Moves a README command onto the test's own resources and nothing else: each README port to a free
// port (the same one everywhere), `./data/...` under a temp dir, and instance addresses onto loopback
// (10.0.0.9 -> 127.0.0.9) so that health checks never leave the machine. A port the README uses that
// the test has no free port for is an error, not a silent pass-through.

/** Where each README port belongs (what `npm start` puts there). */
export const README_PORTS: Readonly<Record<number, string>> = {
  8848: 'az1/n1',
  8849: 'az1/n2',
  8850: 'az1/n3',
  8851: 'az1/n4',
  9848: 'az2/n1',
  9849: 'az2/n2',
  9850: 'az2/n3',
  8900: 'federation',
  8600: 'federation-dns',
};

const HOST_PORT = /\b(127\.0\.0\.1|localhost|0\.0\.0\.0):(\d{1,5})\b/g;

export class Rewriter {
  constructor(
    /** README port -> free port. */
    readonly ports: ReadonlyMap<number, number>,
    /** Replaces `./data`. */
    readonly dataRoot: string,
  ) {}

  private port(readme: string): string {
    const free = this.ports.get(Number(readme));
    if (free === undefined)
      throw new Error(`README port ${readme} has no free port in the test; add it to README_PORTS`);
    return String(free);
  }

  word(w: string, opts: { loopback: boolean }): string {
    let out = w.replace(HOST_PORT, (_, host: string, port: string) => `${host}:${this.port(port)}`);
    if (out.startsWith('./data/')) out = `${this.dataRoot}/${out.slice('./data/'.length)}`;
    if (opts.loopback) {
      out = out.replace(
        /\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b/g,
        (m, a: string, b: string, c: string, d: string) => (a === '127' ? m : `127.${b}.${c}.${d}`),
      );
    }
    return out;
  }

  argv(argv: readonly string[], opts: { loopback: boolean } = { loopback: false }): string[] {
    return argv.map((w, i) => (argv[i - 1] === '-p' && /^\d+$/.test(w) ? this.port(w) : this.word(w, opts)));
  }

  env(env: Readonly<Record<string, string>>): Record<string, string> {
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, this.word(v, { loopback: false })]));
  }

  /** The README port a rewritten port stands for. */
  readmePortOf(free: number): number | undefined {
    for (const [readme, f] of this.ports) if (f === free) return readme;
    return undefined;
  }
}

/** The value after `flag` in argv (`--flag value`). */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}
