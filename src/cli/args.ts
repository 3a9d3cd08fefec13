/**
 * Command-line parsing on top of node:util's parseArgs, with its errors turned into
 * {@link OptionError}s that name the flag and the value.
 */
import { parseArgs } from 'node:util';
import { OptionError } from '../errors.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface ParsedCommand {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseCommand(argv: string[], flags: FlagSpec, maxPositionals: number, usage: string): ParsedCommand {
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
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...flags, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const m = /'(-{1,2}[^']+)'/.exec(e.message);
    const flag = m ? m[1].replace(/ <value>$/, '') : 'arguments';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new OptionError(flag, flag, `a known option (${usage})`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new OptionError(flag, undefined, `a value after ${flag}`);
    throw new OptionError(flag, e.message, usage);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new OptionError('arguments', parsed.positionals.slice(maxPositionals).join(' '), `at most ${maxPositionals} argument(s): ${usage}`);
  }
  return { values: parsed.values as ParsedCommand['values'], positionals: parsed.positionals };
}

/** A string flag's value, or undefined. */
export function stringFlag(values: ParsedCommand['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
