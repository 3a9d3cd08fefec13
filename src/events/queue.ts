/**
 * The event queue: timestamped events in a binary heap (heap-js), ordered by
 * (time, target layer, kind, insertion order).
 *
 * Events live in a struct-of-arrays slab of reusable slots and the heap holds slot numbers
 * (small integers), so pushing and popping allocate nothing once the slab has grown to the
 * largest sample's needs. Times are plain numbers: bins are integer times, and a
 * continuous-time encoder can push fractional times without any change here.
 */
import { Heap } from 'heap-js';

/** A spike delivered to the target layer. */
export const SPIKE = 0;
/** The end of the target layer's bin at that time: threshold, inhibition, learning, emission. */
export const BIN_END = 1;
/** Numeric kind of a queued event: {@link SPIKE} or {@link BIN_END}. */
export type QueuedKind = typeof SPIKE | typeof BIN_END;

/** A popped event, as a plain record (for tests and observers; the engine reads the slab). */
export interface QueuedEvent {
  readonly time: number;
  readonly layer: number;
  readonly kind: QueuedKind;
  readonly neuron: number;
  readonly seq: number;
}

export class EventQueue {
  private times: Float64Array;
  private layers: Int32Array;
  private kinds: Uint8Array;
  private neurons: Int32Array;
  private seqs: Float64Array;
  private free: Int32Array;
  private freeCount: number;
  private nextSeq = 0;
  private readonly heap: Heap<number>;

  constructor(initialCapacity = 1024) {
    const n = Math.max(16, initialCapacity);
    this.times = new Float64Array(n);
    this.layers = new Int32Array(n);
    this.kinds = new Uint8Array(n);
    this.neurons = new Int32Array(n);
    this.seqs = new Float64Array(n);
    this.free = new Int32Array(n);
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.freeCount = n;
    this.heap = new Heap<number>((a, b) => this.compare(a, b));
  }

  /** Number of queued events. */
  get size(): number {
    return this.heap.length;
  }

  /** Slots allocated so far (grows by doubling, never shrinks). */
  get capacity(): number {
    return this.times.length;
  }

  /** Queue an event. Events with equal (time, layer, kind) leave in the order they came. */
  push(time: number, layer: number, kind: QueuedKind, neuron: number): void {
    if (this.freeCount === 0) this.grow();
    const slot = this.free[--this.freeCount];
    this.times[slot] = time;
    this.layers[slot] = layer;
    this.kinds[slot] = kind;
    this.neurons[slot] = neuron;
    this.seqs[slot] = this.nextSeq++;
    this.heap.add(slot);
  }

  /**
   * Remove the first event and return its slot; read it with {@link timeOf} and friends, then
   * give the slot back with {@link release}. Returns −1 when the queue is empty.
   */
  popSlot(): number {
    const slot = this.heap.pop();
    return slot === undefined ? -1 : slot;
  }

  timeOf(slot: number): number {
    return this.times[slot];
  }
  layerOf(slot: number): number {
    return this.layers[slot];
  }
  kindOf(slot: number): QueuedKind {
    return this.kinds[slot] as QueuedKind;
  }
  neuronOf(slot: number): number {
    return this.neurons[slot];
  }

  release(slot: number): void {
    this.free[this.freeCount++] = slot;
  }

  /** Pop the first event as a record (allocates; for tests and tools, not the engine). */
  pop(): QueuedEvent | undefined {
    const slot = this.popSlot();
    if (slot < 0) return undefined;
    const event: QueuedEvent = {
      time: this.times[slot],
      layer: this.layers[slot],
      kind: this.kinds[slot] as QueuedKind,
      neuron: this.neurons[slot],
      seq: this.seqs[slot],
    };
    this.release(slot);
    return event;
  }

  /** Drop every queued event. */
  clear(): void {
    let slot = this.heap.pop();
    while (slot !== undefined) {
      this.release(slot);
      slot = this.heap.pop();
    }
    this.nextSeq = 0;
  }

  private compare(a: number, b: number): number {
    const t = this.times[a] - this.times[b];
    if (t !== 0) return t;
    const l = this.layers[a] - this.layers[b];
    if (l !== 0) return l;
    const k = this.kinds[a] - this.kinds[b];
    if (k !== 0) return k;
    return this.seqs[a] - this.seqs[b];
  }

  private grow(): void {
    const old = this.times.length;
    const n = old * 2;
    const widen = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.times = widen(this.times, (m) => new Float64Array(m));
    this.layers = widen(this.layers, (m) => new Int32Array(m));
    this.kinds = widen(this.kinds, (m) => new Uint8Array(m));
    this.neurons = widen(this.neurons, (m) => new Int32Array(m));
    this.seqs = widen(this.seqs, (m) => new Float64Array(m));
    this.free = widen(this.free, (m) => new Int32Array(m));
    for (let i = old; i < n; i++) this.free[this.freeCount++] = n - 1 - (i - old);
  }
}
