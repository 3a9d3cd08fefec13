/**
 * Ctrl-C and SIGTERM for long commands: the first signal asks the work to stop at its next
 * checkpoint (so what is finished stays saved); a second one exits at once.
 */

/**
 * Abort `controller` on SIGINT and SIGTERM while `work` runs; a second signal exits at once.
 * The handlers are removed when the work ends, however it ends.
 */
export async function withSignals<T>(controller: AbortController, work: () => Promise<T>): Promise<T> {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = (): void => {
      if (controller.signal.aborted) process.exit(exitCodeOf(signal));
      controller.abort(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  try {
    return await work();
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}

/** The shell's exit code for a process stopped by `signal`: 128 + its number. */
export function exitCodeOf(signal: unknown): number {
  return signal === 'SIGTERM' ? 143 : 130;
}
