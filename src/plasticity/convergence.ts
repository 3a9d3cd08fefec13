/**
 * The convergence measure common to every learning rule, and so the stopping rule of training.
 */

/**
 * Convergence measure Q = mean over all weights of (w − w_min)(w_max − w). It is 0 when every
 * weight sits at a bound; training stops once Q falls below a threshold (0.01 by default).
 */
export function convergence(weights: Float64Array, weightMin: number, weightMax: number): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    sum += (w - weightMin) * (weightMax - w);
  }
  return sum / weights.length;
}
