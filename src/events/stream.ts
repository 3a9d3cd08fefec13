/**
 * Observation of a running simulation through rxjs. The engine checks once per sample whether
 * anybody subscribes; when nobody does, nothing is built or sent, so an unobserved run costs
 * one boolean test per spike.
 */
import { Subject, type Observable } from 'rxjs';
import type { LayerKindName } from '../neurons/kinds/index.js';

/** A spike, as observers see it. */
export interface SpikeEvent {
  readonly kind: 'spike';
  /** Serial number of the sample in this engine (1, 2, …). */
  readonly sample: number;
  /** Index of the emitting layer in the network (0 = input). */
  readonly layer: number;
  /** Flat neuron index channel·H·W + y·W + x in that layer. */
  readonly neuron: number;
  /** Time bin. */
  readonly time: number;
}

/** Per-layer figures of one sample (SPEC §7). */
export interface LayerSummary {
  readonly layer: number;
  readonly kind: 'input' | LayerKindName;
  readonly neurons: number;
  readonly spikes: number;
  /** Potential updates actually applied (0 for the input). */
  readonly synapticEvents: number;
  /** Presynaptic spikes × their real connections into this layer (0 for the input). */
  readonly fanoutEvents: number;
  /** Weight additions the simulator performed (at most the synaptic events; 0 without weights). */
  readonly additions: number;
  /** Multiply-accumulates of this layer in a dense clock-driven pass (0 for the input). */
  readonly denseMacs: number;
  /** Fraction of (neuron, bin) pairs with no spike. */
  readonly activationSparsity: number;
}

/** What one sample did. */
export interface SampleSummary {
  readonly kind: 'sample';
  readonly sample: number;
  readonly learning: boolean;
  readonly layers: readonly LayerSummary[];
  /** Spikes of all layers simulated, input included (the authors' "spikes per sample"). */
  readonly totalSpikes: number;
}

export type SimulationEvent = SpikeEvent | SampleSummary;

export class SimulationStreams {
  private readonly spikeSubject = new Subject<SpikeEvent>();
  private readonly sampleSubject = new Subject<SampleSummary>();

  /** Every spike of every layer, in the order the engine handles them. */
  readonly spikes$: Observable<SpikeEvent> = this.spikeSubject.asObservable();
  /** One summary per sample, after the sample. */
  readonly samples$: Observable<SampleSummary> = this.sampleSubject.asObservable();

  get spikesObserved(): boolean {
    return this.spikeSubject.observed;
  }
  get samplesObserved(): boolean {
    return this.sampleSubject.observed;
  }

  emitSpike(event: SpikeEvent): void {
    this.spikeSubject.next(event);
  }
  emitSample(summary: SampleSummary): void {
    this.sampleSubject.next(summary);
  }

  complete(): void {
    this.spikeSubject.complete();
    this.sampleSubject.complete();
  }
}
