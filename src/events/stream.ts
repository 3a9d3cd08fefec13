/**
 * Observation of a running simulation through rxjs. The engine checks once per sample whether
 * anybody subscribes; when nobody does, nothing is built or sent, so an unobserved run costs
 * one boolean test per spike.
 *
 * rxjs is loaded when a stream is first asked for, not with the engine: its entry point loads
 * some 230 files (~160 ms), which every worker thread of a run would pay at start-up without
 * ever observing anything.
 */
import { createRequire } from 'node:module';
import type { Observable, Subject } from 'rxjs';
import type { LayerKindName } from '../neurons/kinds/index.js';

let rxjs: typeof import('rxjs') | undefined;
const loadRxjs = (): typeof import('rxjs') => (rxjs ??= createRequire(import.meta.url)('rxjs') as typeof import('rxjs'));

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
  private spikeSubject: Subject<SpikeEvent> | undefined;
  private sampleSubject: Subject<SampleSummary> | undefined;
  private spikeStream: Observable<SpikeEvent> | undefined;
  private sampleStream: Observable<SampleSummary> | undefined;

  /** Every spike of every layer, in the order the engine handles them. */
  get spikes$(): Observable<SpikeEvent> {
    return (this.spikeStream ??= this.spikes().asObservable());
  }
  /** One summary per sample, after the sample. */
  get samples$(): Observable<SampleSummary> {
    return (this.sampleStream ??= this.samples().asObservable());
  }

  get spikesObserved(): boolean {
    return this.spikeSubject?.observed ?? false;
  }
  get samplesObserved(): boolean {
    return this.sampleSubject?.observed ?? false;
  }

  emitSpike(event: SpikeEvent): void {
    this.spikeSubject?.next(event);
  }
  emitSample(summary: SampleSummary): void {
    this.sampleSubject?.next(summary);
  }

  complete(): void {
    // made if nobody asked yet: a stream asked for later is then complete at once
    this.spikes().complete();
    this.samples().complete();
  }

  private spikes(): Subject<SpikeEvent> {
    return (this.spikeSubject ??= new (loadRxjs().Subject)<SpikeEvent>());
  }
  private samples(): Subject<SampleSummary> {
    return (this.sampleSubject ??= new (loadRxjs().Subject)<SampleSummary>());
  }
}
