// Reads the commands out of README.md: every line of every ```sh block (with `\` continuations, `&`,
// `VAR=value` assignments and prefixes, `$VAR` expansion and `#` comments), and the inline code spans
// of the prose that are commands (`npm ...`, `npx ...`), name a `cairn` subcommand, or name flags and
// env vars. Shell syntax beyond that (pipes, `;`, `&&`, redirections, `$(...)`) is refused, so a
// README command can never be read as something other than what a shell would run.

/** Fences whose lines are shell commands. */
const SHELL_FENCES = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);

export interface ShellCommand {
  /** README line the command starts on (1-based). */
  readonly line: number;
  /** The `## ` heading it is under. */
  readonly section: string;
  /** As written, continuations joined, comment dropped. */
  readonly text: string;
  /** `VAR=value` words before the command (its environment), after expansion. */
  readonly env: Readonly<Record<string, string>>;
  /** The words after expansion; empty for a line of shell variable assignments only. */
  readonly argv: readonly string[];
  /** Ends with `&`. */
  readonly background: boolean;
  /** Other commands follow it in the same block (a foreground server there would block them). */
  readonly followed: boolean;
  /** From a ```sh block, or an inline `npm ...` / `npx ...` span of the prose. */
  readonly origin: 'block' | 'inline';
}

/** An inline code span of the prose: flags (`--policy drop`), env vars (`CAIRN_ZONE`) or a `cairn <command>` name. */
export interface ProseSpan {
  readonly line: number;
  readonly section: string;
  readonly text: string;
}

export interface ReadmeCommands {
  readonly commands: readonly ShellCommand[];
  readonly flagSpans: readonly ProseSpan[];
  readonly envSpans: readonly ProseSpan[];
  readonly cairnNames: readonly ProseSpan[];
}

export class ShellSyntaxError extends Error {}

export function readmeCommands(markdown: string): ReadmeCommands {
  const lines = markdown.split('\n');
  const commands: ShellCommand[] = [];
  const flagSpans: ProseSpan[] = [];
  const envSpans: ProseSpan[] = [];
  const cairnNames: ProseSpan[] = [];
  const vars = new Map<string, string>();
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = /^```\s*([A-Za-z]*)\s*$/.exec(line);
    if (fence) {
      const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
      if (end < 0) throw new ShellSyntaxError(`README line ${i + 1}: unclosed code block`);
      if (SHELL_FENCES.has(fence[1]!)) commands.push(...blockCommands(lines.slice(i + 1, end), i + 2, section, vars));
      i = end;
      continue;
    }
    if (line.startsWith('## ')) section = line.slice(3).trim();
    for (const m of line.matchAll(/`([^`]+)`/g)) {
      const text = m[1]!;
      const span = { line: i + 1, section, text };
      if (/^(npm|npx) /.test(text)) {
        const { words, background } = lexLine(text, new Map(), i + 1);
        commands.push({ ...span, ...splitEnv(words), background, followed: false, origin: 'inline' });
      } else if (/^--[a-z]/.test(text)) flagSpans.push(span);
      else if (/^CAIRN_[A-Z_]+$/.test(text)) envSpans.push(span);
      else if (/^cairn [a-z-]+$/.test(text)) cairnNames.push(span);
    }
  }
  return { commands, flagSpans, envSpans, cairnNames };
}

function blockCommands(
  body: readonly string[],
  firstLine: number,
  section: string,
  vars: Map<string, string>,
): ShellCommand[] {
  // Logical lines: a trailing backslash continues onto the next line.
  const logical: { line: number; text: string }[] = [];
  let pending: { line: number; text: string } | null = null;
  body.forEach((raw, k) => {
    const continued = /\\$/.test(raw);
    const part = continued ? raw.slice(0, -1) : raw;
    pending = pending
      ? { line: pending.line, text: `${pending.text} ${part.trim()}` }
      : { line: firstLine + k, text: part };
    if (!continued) {
      logical.push(pending);
      pending = null;
    }
  });
  if (pending) throw new ShellSyntaxError(`README line ${firstLine}: a block ends in a \\ continuation`);

  const out: ShellCommand[] = [];
  for (const { line, text } of logical) {
    const { words, background, written } = lexLine(text, vars, line);
    if (words.length === 0) continue; // blank or comment
    const { env, argv } = splitEnv(words);
    if (argv.length === 0) {
      if (background) throw new ShellSyntaxError(`README line ${line}: '&' after assignments only`);
      for (const [k, v] of Object.entries(env)) vars.set(k, v);
    }
    out.push({ line, section, text: written, env, argv, background, followed: false, origin: 'block' });
  }
  return out.map((c, k) => ({ ...c, followed: out.slice(k + 1).some((n) => n.argv.length > 0) }));
}

function splitEnv(words: readonly string[]): { env: Record<string, string>; argv: string[] } {
  const env: Record<string, string> = {};
  let k = 0;
  for (; k < words.length; k++) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(words[k]!);
    if (!m) break;
    env[m[1]!] = m[2]!;
  }
  return { env, argv: words.slice(k) };
}

/**
 * One logical line as a POSIX shell would split it, for the subset READMEs use: words, '...' and
 * "..." quoting, backslash escapes, $VAR / ${VAR} expansion (defined earlier in the README), a
 * trailing `&` and `#` comments.
 */
export function lexLine(
  text: string,
  vars: ReadonlyMap<string, string>,
  line: number,
): { words: string[]; background: boolean; written: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let background = false;
  let i = 0;
  const fail = (why: string): never => {
    throw new ShellSyntaxError(`README line ${line}: ${why} in: ${text}`);
  };
  const end = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const expand = (): string => {
    // text[i] is '$'
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(text.slice(i));
    const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
    const m = braced ?? plain;
    if (!m) return fail("unsupported '$' expansion");
    const value = vars.get(m[1]!);
    if (value === undefined) fail(`$${m[1]} is not set by an earlier README command`);
    i += m[0].length;
    return value!;
  };
  let commentAt = text.length;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      end();
      i++;
    } else if (c === '#' && !inWord) {
      commentAt = i;
      break;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) fail('unclosed quote');
      word += text.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      while (text[i] !== '"') {
        if (i >= text.length) fail('unclosed quote');
        if (text[i] === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) {
          word += text[i + 1];
          i += 2;
        } else if (text[i] === '$') word += expand();
        else if (text[i] === '`') fail('command substitution');
        else word += text[i++];
      }
      i++;
    } else if (c === '\\') {
      word += text[i + 1] ?? '';
      inWord = true;
      i += 2;
    } else if (c === '$') {
      word += expand();
      inWord = true;
    } else if (c === '&') {
      const rest = text.slice(i + 1).trim();
      if (rest !== '' && !rest.startsWith('#')) fail("'&' not at the end of the command");
      end();
      background = true;
      commentAt = rest === '' ? text.length : text.indexOf('#', i);
      break;
    } else if ('|;<>()`'.includes(c)) {
      fail(`unsupported shell syntax '${c}'`);
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  end();
  return { words, background, written: text.slice(0, commentAt).trim() };
}
