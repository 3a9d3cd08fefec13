/**
 * Errors raised at the boundary of the library: options, data files, traces and model files.
 *
 * Each carries the offending field and value so that the command line can print one line that
 * says what is wrong without a stack trace. Inner code never catches and logs them.
 */

/** Base class of every error evspike raises on purpose (as opposed to a bug). */
export class EvspikeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An option or configuration value is missing, of the wrong type or out of range. */
export class OptionError extends EvspikeError {
  constructor(
    /** Dotted path of the option, for example `layers[1].thresholdV`. */
    readonly field: string,
    /** The value that was rejected. */
    readonly value: unknown,
    /** What was expected, as a phrase: "a positive integer". */
    readonly expected: string,
  ) {
    super(`${field}: expected ${expected}, got ${describeValue(value)}`);
  }
}

/** A data file (IDX images or labels) is unreadable or malformed. */
export class DataFileError extends EvspikeError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** A trace file does not follow the format of the reference traces. */
export class TraceFormatError extends EvspikeError {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`${file}: ${field}: expected ${expected}, got ${describeValue(value)}`);
  }
}

/** A checkpoint folder or file is missing, corrupt, foreign, of another version or mismatched. */
export class CheckpointError extends EvspikeError {
  constructor(
    /** The checkpoint folder or file. */
    readonly path: string,
    /** What is wrong, as a phrase. */
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/** A model file (or a model description) is unreadable, foreign or does not describe a valid network. */
export class ModelFileError extends EvspikeError {
  constructor(
    /** The field of the description or file at fault (`file` for the file as a whole). */
    readonly field: string,
    readonly value: unknown,
    readonly expected: string,
    /** The model file, when one was read. */
    readonly file?: string,
  ) {
    super(`${file === undefined ? '' : `${file}: `}${field}: expected ${expected}, got ${describeValue(value)}`);
  }
}

/** The integration kernel asked for cannot run here (WebAssembly SIMD missing). */
export class KernelUnavailableError extends EvspikeError {
  constructor(
    readonly kernel: string,
    readonly reason: string,
  ) {
    super(`kernel ${JSON.stringify(kernel)} is not available here: ${reason}; use --kernel js or auto`);
  }
}

/**
 * Work stopped because its abort signal fired (Ctrl-C, SIGTERM, or a caller's AbortController).
 * What was saved before stays saved; `reason` is the signal's reason (for example `'SIGINT'`).
 */
export class InterruptedError extends EvspikeError {
  constructor(readonly reason: unknown) {
    super(`interrupted${typeof reason === 'string' ? ` (${reason})` : ''}`);
  }
}

/** Short, printable rendering of a rejected value (long arrays and strings are cut). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') {
    const s = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(s);
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
