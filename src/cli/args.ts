/**
 * Command-line parsing on top of node:util's parseArgs. Each command declares its flags once,
 * with their meaning and default, in a {@link CommandSpec}; the usage line, `--help` and the
 * errors (an unknown flag names the closest known one) all come from that declaration. Errors
 * are {@link OptionError}s that name the flag and the value.
 */
import { parseArgs } from 'node:util';
import { OptionError } from '../errors.js';

/** One flag: its type, the name of its value in help (`N`, `DIR`), what it does, its default. */
export interface FlagHelp {
  type: 'string' | 'boolean';
  /** The value's placeholder in help, for string flags: `N`, `DIR`, `cpu|cuda|auto`. */
  value?: string;
  /** What the flag does, one sentence. */
  help: string;
  /** The default, as help shows it (omitted: no default, or a boolean that is off). */
  default?: string;
  /** The command cannot run without it. */
  required?: boolean;
  /** It may be given several times (its value is then a list). */
  multiple?: boolean;
  short?: string;
}

/** A command: its name, what it does, its positional arguments and its flags. */
export interface CommandSpec {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Positional arguments as the usage line shows them, with their meaning. */
  args?: { name: string; help: string; optional?: boolean }[];
  flags: Record<string, FlagHelp>;
}

export interface ParsedCommand {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** The one-line usage of a command, built from its flags. */
export function usageLine(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => (a.optional ? `[${a.name}]` : a.name));
  const flags = Object.entries(spec.flags).map(([name, f]) => {
    const text = f.type === 'boolean' ? `--${name}` : `--${name} ${f.value ?? 'VALUE'}`;
    return f.required ? text : `[${text}]${f.multiple ? '…' : ''}`;
  });
  return ['evspike', spec.name, ...args, ...flags].join(' ');
}

/** The full help of a command: usage, what it does, every argument and flag with its default. */
export function helpText(spec: CommandSpec): string {
  const rows: [string, string][] = [];
  for (const a of spec.args ?? []) rows.push([a.name, a.help]);
  for (const [name, f] of Object.entries(spec.flags)) {
    const left = `${f.short ? `-${f.short}, ` : ''}--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`;
    rows.push([left, f.help + (f.default === undefined ? '' : ` (default: ${f.default})`)]);
  }
  rows.push(['-h, --help', 'Print this help.']);
  const width = Math.min(28, Math.max(...rows.map(([l]) => l.length)));
  const lines = rows.map(([l, r]) => (l.length > width ? `  ${l}\n  ${' '.repeat(width)}  ${r}` : `  ${l.padEnd(width)}  ${r}`));
  return `usage: ${usageLine(spec)}\n\n${spec.summary}\n\n${lines.join('\n')}`;
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The known name closest to `name`, if it is close enough to be a typo. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Parse `argv` for the command `spec`; `values.help` is true when help was asked for. */
export function parseCommand(argv: string[], spec: CommandSpec): ParsedCommand {
  const flags = spec.flags;
  const usage = usageLine(spec);
  const maxPositionals = spec.args?.length ?? 0;
  // `--seed -1`: parseArgs would read -1 as a flag; a negative number after a string flag is
  // its value (which the flag's validation then judges).
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : undefined;
    if (name !== undefined && flags[name]?.type === 'string' && i + 1 < argv.length && /^-\d/.test(argv[i + 1])) {
      args.push(`${argv[i]}=${argv[i + 1]}`);
      i++;
    } else {
      args.push(argv[i]);
    }
  }
  const options = Object.fromEntries(
    Object.entries(flags).map(([k, f]) => [k, { type: f.type, ...(f.short === undefined ? {} : { short: f.short }), ...(f.multiple ? { multiple: true } : {}) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const m = /'(-{1,2}[^']+)'/.exec(e.message);
    const flag = m ? m[1].replace(/ <value>$/, '') : 'arguments';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const guess = closest(flag.replace(/^-+/, '').replace(/=.*$/, ''), Object.keys(flags));
      throw new OptionError(flag, flag, guess === undefined ? `a known option (see evspike ${spec.name} --help)` : `a known option: did you mean --${guess}?`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new OptionError(flag, undefined, `a value after ${flag}`);
    throw new OptionError(flag, e.message, usage);
  }
  if (parsed.values.help) return { values: parsed.values as ParsedCommand['values'], positionals: parsed.positionals };
  if (parsed.positionals.length > maxPositionals) {
    throw new OptionError('arguments', parsed.positionals.slice(maxPositionals).join(' '), `at most ${maxPositionals} argument(s): ${usage}`);
  }
  return { values: parsed.values as ParsedCommand['values'], positionals: parsed.positionals };
}

/** Every value of a flag given several times (empty when not given). */
export function listFlag(values: ParsedCommand['values'], name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** A string flag's value, or undefined. */
export function stringFlag(values: ParsedCommand['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
