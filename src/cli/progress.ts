/**
 * Progress of long phases on stderr: a redrawn bar with rate and time left when stderr is a
 * terminal, plain lines every few seconds otherwise (logs, CI).
 */
export interface ProgressOptions {
  /** Stream to write to. Default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when not a terminal. Default 5. */
  lineInterval?: number;
  /** Print nothing at all. */
  quiet?: boolean;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly start = performance.now();
  private last = 0;
  private readonly interval: number;
  private readonly quiet: boolean;

  /** @param total the count at completion, or undefined when unknown (then no bar or time left) */
  constructor(
    readonly label: string,
    readonly total: number | undefined,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.interval = (this.tty ? 0.1 : (options.lineInterval ?? 5)) * 1000;
    this.quiet = options.quiet ?? false;
  }

  /** Report that `done` items are finished; `extra` is appended (for example "Q=0.0123"). */
  update(done: number, extra = ''): void {
    if (this.quiet || done === 0) return;
    const now = performance.now();
    if (now - this.last < this.interval) return;
    this.last = now;
    this.stream.write(this.render(done, extra, now) + (this.tty ? '' : '\n'));
  }

  /** Erase a half-drawn bar (on a terminal), so the next line starts clean. */
  clear(): void {
    if (!this.quiet && this.tty) this.stream.write('\r\x1b[K');
  }

  /** Final line. */
  finish(done: number, extra = ''): void {
    if (this.quiet) return;
    this.stream.write(this.render(done, extra, performance.now()) + '\n');
  }

  private render(done: number, extra: string, now: number): string {
    const elapsed = (now - this.start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    let text = `${this.label}: ${done}`;
    if (this.total !== undefined && this.total > 0) {
      const frac = Math.min(1, done / this.total);
      const width = 24;
      const filled = Math.round(frac * width);
      const bar = this.tty ? ` [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]` : '';
      text = `${this.label}${bar} ${done}/${this.total} (${(100 * frac).toFixed(0)}%)`;
      if (elapsed >= 0.05) text += `, ${rate.toFixed(0)}/s, ${formatSeconds((this.total - done) / rate)} left`;
    } else if (elapsed >= 0.05) {
      text += `, ${rate.toFixed(0)}/s, ${formatSeconds(elapsed)}`;
    }
    if (extra) text += `, ${extra}`;
    return this.tty ? `\r\x1b[K${text}` : text;
  }
}
