import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Why a file could not be read, as a short phrase for an error message. */
export function readFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EISDIR') return 'is a directory';
  return e.message;
}

/** The names (without `.json`) of the JSON files in `dir`, sorted; none when it does not exist. */
export function jsonNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * The file `nameOrFile` names: a path (relative to `baseDir` when given), or a file of
 * `shippedDir` named with or without `.json`; a file that exists wins over a shipped name.
 */
export function findJsonFile(nameOrFile: string, shippedDir: string, baseDir?: string): string | undefined {
  const bare = nameOrFile.endsWith('.json') ? nameOrFile.slice(0, -'.json'.length) : nameOrFile;
  const candidates = baseDir === undefined ? [nameOrFile] : [resolve(baseDir, nameOrFile), resolve(baseDir, `${bare}.json`)];
  if (!/[\\/]/.test(nameOrFile)) candidates.push(join(shippedDir, `${bare}.json`));
  return candidates.find((f) => existsSync(f) && statSync(f).isFile());
}
