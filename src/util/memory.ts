/** Peak resident memory of this process so far (all its threads), in MB. */
export function peakMemoryMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
