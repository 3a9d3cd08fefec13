/**
 * Small validators for options and files at the boundary. Each throws {@link OptionError}
 * naming the field and the rejected value.
 */
import { OptionError } from '../errors.js';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reject keys of `obj` that are not in `allowed`. */
export function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new OptionError(path ? `${path}.${key}` : key, obj[key], `no such option (known: ${allowed.join(', ')})`);
    }
  }
}

export interface NumberBounds {
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Inclusive upper bound. */
  max?: number;
}

function boundsPhrase(b: NumberBounds): string {
  const parts: string[] = [];
  if (b.above !== undefined) parts.push(`> ${b.above}`);
  if (b.min !== undefined) parts.push(`≥ ${b.min}`);
  if (b.max !== undefined) parts.push(`≤ ${b.max}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

function inBounds(v: number, b: NumberBounds): boolean {
  return !(
    (b.min !== undefined && v < b.min) ||
    (b.above !== undefined && v <= b.above) ||
    (b.max !== undefined && v > b.max)
  );
}

/** A finite number within bounds, or `fallback` when `value` is undefined. */
export function finiteNumber(field: string, value: unknown, fallback: number, bounds: NumberBounds = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !inBounds(value, bounds)) {
    throw new OptionError(field, value, `a finite number${boundsPhrase(bounds)}`);
  }
  return value;
}

/** An integer within bounds, or `fallback` when `value` is undefined. */
export function integer(field: string, value: unknown, fallback: number, bounds: NumberBounds = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || !inBounds(value, bounds)) {
    throw new OptionError(field, value, `an integer${boundsPhrase(bounds)}`);
  }
  return value;
}

export function boolean(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new OptionError(field, value, 'true or false');
  return value;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new OptionError(field, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return value as T;
}

/** Parse a command-line integer option: the whole string must be an integer. */
export function parseIntegerFlag(flag: string, text: string | undefined, fallback: number, bounds: NumberBounds = {}): number {
  if (text === undefined) return fallback;
  const trimmed = text.trim();
  const value = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value) || !inBounds(value, bounds)) {
    throw new OptionError(flag, text, `an integer${boundsPhrase(bounds)}`);
  }
  return value;
}
