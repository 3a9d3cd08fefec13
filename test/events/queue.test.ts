import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BIN_END, EventQueue, SPIKE, type QueuedKind } from '../../src/events/queue.js';

interface Ev {
  time: number;
  layer: number;
  kind: QueuedKind;
  neuron: number;
  seq: number;
}

/** The obviously correct model: a plain array kept sorted by (time, layer, kind, seq). */
class SortedArrayModel {
  items: Ev[] = [];
  seq = 0;
  push(time: number, layer: number, kind: QueuedKind, neuron: number): void {
    this.items.push({ time, layer, kind, neuron, seq: this.seq++ });
    this.items.sort((a, b) => a.time - b.time || a.layer - b.layer || a.kind - b.kind || a.seq - b.seq);
  }
  pop(): Ev | undefined {
    return this.items.shift();
  }
}

type Real = { queue: EventQueue };

class PushCommand implements fc.Command<SortedArrayModel, Real> {
  constructor(readonly ev: { time: number; layer: number; kind: QueuedKind; neuron: number }) {}
  check(): boolean {
    return true;
  }
  run(m: SortedArrayModel, r: Real): void {
    m.push(this.ev.time, this.ev.layer, this.ev.kind, this.ev.neuron);
    r.queue.push(this.ev.time, this.ev.layer, this.ev.kind, this.ev.neuron);
    expect(r.queue.size).toBe(m.items.length);
  }
  toString(): string {
    return `push(${JSON.stringify(this.ev)})`;
  }
}

class PopCommand implements fc.Command<SortedArrayModel, Real> {
  check(): boolean {
    return true;
  }
  run(m: SortedArrayModel, r: Real): void {
    const expected = m.pop();
    const got = r.queue.pop();
    if (expected === undefined) {
      expect(got).toBeUndefined();
      return;
    }
    expect(got).toBeDefined();
    expect([got!.time, got!.layer, got!.kind, got!.neuron]).toEqual([expected.time, expected.layer, expected.kind, expected.neuron]);
  }
  toString(): string {
    return 'pop()';
  }
}

describe('EventQueue', () => {
  it('orders by time, then layer, then spikes before bin ends, then arrival', () => {
    const q = new EventQueue(2);
    q.push(1, 2, SPIKE, 10);
    q.push(0, 2, BIN_END, 0);
    q.push(0, 1, SPIKE, 5);
    q.push(0, 2, SPIKE, 7);
    q.push(0, 1, SPIKE, 3);
    q.push(0.5, 1, SPIKE, 4); // fractional times work as well
    const order = [];
    for (let e = q.pop(); e; e = q.pop()) order.push([e.time, e.layer, e.kind, e.neuron]);
    expect(order).toEqual([
      [0, 1, SPIKE, 5],
      [0, 1, SPIKE, 3],
      [0, 2, SPIKE, 7],
      [0, 2, BIN_END, 0],
      [0.5, 1, SPIKE, 4],
      [1, 2, SPIKE, 10],
    ]);
  });

  it('behaves like a sorted array under interleaved pushes and pops, equal times included', () => {
    const push = fc
      .record({ time: fc.integer({ min: 0, max: 3 }), layer: fc.integer({ min: 1, max: 3 }), kind: fc.constantFrom(SPIKE, BIN_END), neuron: fc.nat(50) })
      .map((ev) => new PushCommand(ev));
    const pop = fc.constant(new PopCommand());
    fc.assert(
      fc.property(fc.commands([push, push, pop], { size: '+1' }), (cmds) => {
        fc.modelRun(() => ({ model: new SortedArrayModel(), real: { queue: new EventQueue(16) } }), cmds);
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  it('grows beyond its initial capacity and reuses slots', () => {
    const q = new EventQueue(16);
    for (let i = 0; i < 100; i++) q.push(100 - i, 1, SPIKE, i);
    expect(q.capacity).toBeGreaterThanOrEqual(100);
    const cap = q.capacity;
    for (let round = 0; round < 3; round++) {
      let last = -Infinity;
      for (let e = q.pop(); e; e = q.pop()) {
        expect(e.time).toBeGreaterThanOrEqual(last);
        last = e.time;
      }
      for (let i = 0; i < 100; i++) q.push(i % 7, 1, SPIKE, i);
    }
    expect(q.capacity).toBe(cap);
    q.clear();
    expect(q.size).toBe(0);
  });
});
