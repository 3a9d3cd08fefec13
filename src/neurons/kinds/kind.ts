/**
 * What a kind of layer is to the rest of evspike: one {@link LayerKind} value per kind holds
 * everything that would otherwise be a branch on the kind somewhere (resolving its options,
 * creating its runtime layer, its dense MACs, its node in a model description, its step in the
 * dense reference). The registry in `index.ts` maps kind names to them. A new kind is its
 * runtime layer, one file with its `LayerKind`, and one registry line.
 */
import type { KernelChoice } from '../kernels/integrate.js';
import type { PresynapticLayer, RuntimeLayer } from '../layer.js';
import type { Shape } from '../shape.js';
import type { LearningRule } from '../../plasticity/rule.js';
import type { SeededRandom } from '../../util/random.js';

/** Where a layer sits when its options are resolved. */
export interface ResolveAt {
  /** Path of its options in errors, for example `layers[0]`. */
  readonly path: string;
  /** Its index in the network (0 is the input). */
  readonly index: number;
  /** The shape of what it reads. */
  readonly inShape: Shape;
  /** The network's resting potential. */
  readonly restV: number;
}

/** The fields every resolved layer has. */
export interface ResolvedLayerBase {
  readonly kind: string;
  readonly index: number;
  readonly inShape: Shape;
  readonly outShape: Shape;
}

/** What a runtime layer is built with. */
export interface CreateContext {
  /** The layer it reads (for the potentials a learning rule reads). */
  readonly source: PresynapticLayer;
  readonly restV: number;
  readonly resetV: number;
  /** Its weights, for a kind with weights (copied in by the engine). */
  readonly weights: Float64Array | undefined;
  readonly kernel: KernelChoice;
  /** Skip work that cannot change the results (a layer may ignore it). */
  readonly skipping: boolean;
}

/** What one bin of the dense reference sees of a layer's neighbours. */
export interface DenseStepIo {
  /** Spike bin of each neuron of the layer it reads, −1 for none. */
  readonly inTimes: Int32Array;
  /** Spike bin of each of its own neurons, −1 for none (written by the step). */
  readonly outTimes: Int32Array;
  /** Potential of presynaptic neuron i at the end of bin t, as a learning rule reads it. */
  presynapticV(i: number, t: number): number;
  /** The rule to apply to the bin's winners, when this layer learns. */
  readonly rule: LearningRule | undefined;
  /** Winners of the sample as [bin, map, y, x], appended in the order the rule was applied. */
  readonly winners: [number, number, number, number][];
}

/** A kind's step in the dense clock-driven reference: every neuron, every bin, for obviousness. */
export interface DenseKernel<Resolved, State> {
  /** The per-sample state (every neuron at rest). */
  start(spec: Resolved, weights: Float64Array | undefined, restV: number, resetV: number): State;
  /** Bin `t`: integrate, fire, learn, reset. Returns the multiply-accumulates performed. */
  step(state: State, t: number, io: DenseStepIo): number;
  /** Potential of neuron i at the end of bin t, as the next layer's learning rule reads it. */
  potential(state: State, i: number, t: number, outTimes: Int32Array): number;
}

/** A kind of layer: everything evspike needs to know of it, in one value. */
export interface LayerKind<Options extends { kind: string }, Resolved extends ResolvedLayerBase, Node extends { kind: string }, DenseState = unknown> {
  readonly kind: Options['kind'];
  /** The kind of its node in model descriptions. */
  readonly node: Node['kind'];
  /** The kinds of layer it may read (`'input'` for the network's input). */
  readonly reads: readonly string[];
  /** Validate its options and fill in the defaults; errors name `at.path`. */
  resolve(raw: Record<string, unknown>, at: ResolveAt): Resolved;
  /** The complete options (every default written out) that resolve to `spec`. */
  options(spec: Resolved): Options;
  /** Number of trainable weights (0 for a kind without weights). */
  weightCount(spec: Resolved): number;
  /** Initial weights drawn from `random` (kinds with weights). */
  initialWeights(spec: Resolved, random: SeededRandom): Float64Array;
  create(spec: Resolved, context: CreateContext): RuntimeLayer;
  /** Multiply-accumulates of a dense clock-driven pass over `timeBins` bins. */
  denseMacs(spec: Resolved, timeBins: number): number;
  /** Its node in a model description, with its weights (a kind with weights needs them). */
  describe(spec: Resolved, weights: Float64Array | undefined): Node;
  /** Its options from its node (the inverse of {@link describe}). */
  fromNode(node: Node): Options;
  readonly dense: DenseKernel<Resolved, DenseState>;
}
