// Mutation check of the property tests: plant one plausible bug at a time in the
// source, run test/properties, and report which properties catch it; the source is restored
// after each bug, also on Ctrl-C. Run with `npm run check-properties` (4-10 minutes).
// Note: the worker-count property runs the built worker (dist/), so a bug planted in src/ also
// shows up there as a src/dist mismatch; that is not the property it was planted for.
// A bug planted in a kernel (integrate.wat: "wasm", integrate.c: "native") is rebuilt and
// the properties run on that kernel (EVSPIKE_KERNEL); one planted in JavaScript that the
// native kernel replaces names the kernel that runs it ("kernel"); the others run on the
// default one.
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const plants = [
  {"bug": "fire twice: a conv position is not marked dead after its spike", "file": "src/neurons/kernels/integrate.wat", "find": "(i32.store8 (i32.add (global.get $dead) (local.get $pos)) (local.get $hit))", "replace": "(i32.store8 (i32.add (global.get $dead) (local.get $pos)) (i32.const 0))", "wasm": true},
  {"bug": "fire twice: a conv position is not marked dead after its spike (native)", "file": "src/neurons/kernels/integrate.c", "find": "    at[pos].dead = hit;", "replace": "    at[pos].dead = 0;", "native": true},
  {"bug": "first crossing candidate wins instead of the largest V (native bounds)", "file": "src/neurons/kernels/integrate.c", "find": "if (x2 > k->threshold && x2 >= bestV) {", "replace": "if (x2 > k->threshold && best < 0) {", "native": true},
  {"bug": "ties go to the lower map (native bounds use > instead of >=)", "file": "src/neurons/kernels/integrate.c", "find": "if (x2 > k->threshold && x2 >= bestV) {", "replace": "if (x2 > k->threshold && x2 > bestV) {", "native": true},
  {"bug": "ties go to the lower map (native row search takes the lowest lane)", "file": "src/neurons/kernels/integrate.c", "find": "if (at != 0) return c + 31 - __builtin_clz(at);", "replace": "if (at != 0) return c + __builtin_ctz(at);", "native": true},
  {"bug": "weight levels without the margin over the floor (a weight above its bound)", "file": "src/neurons/kernels/integrate.ts", "find": "levels) + 2);", "replace": "levels));", "wasm": false},
  {"bug": "first crossing map wins instead of the largest V (wasm scan)", "file": "src/neurons/kernels/integrate.wat", "find": "(if (i32.and (f64.gt (local.get $x) (global.get $threshold)) (f64.ge (local.get $x) (local.get $bestV)))", "replace": "(if (i32.and (f64.gt (local.get $x) (global.get $threshold)) (i32.lt_s (local.get $best) (i32.const 0)))", "wasm": true},
  {"bug": "ties go to the lower map (wasm scan uses > instead of >=)", "file": "src/neurons/kernels/integrate.wat", "find": "(f64.ge (local.get $x) (local.get $bestV))", "replace": "(f64.gt (local.get $x) (local.get $bestV))", "wasm": true},
  {"bug": "queue orders by layer before time", "file": "src/events/queue.ts", "find": "    const t = this.times[a] - this.times[b];\n    if (t !== 0) return t;\n    const l = this.layers[a] - this.layers[b];\n    if (l !== 0) return l;", "replace": "    const l = this.layers[a] - this.layers[b];\n    if (l !== 0) return l;\n    const t = this.times[a] - this.times[b];\n    if (t !== 0) return t;", "wasm": false},
  {"bug": "a one-bin synaptic delay between layers", "file": "src/events/engine.ts", "find": "queue.push(time, layerIndex + 1, SPIKE, log.neuron[s]);", "replace": "queue.push(time + 1, layerIndex + 1, SPIKE, log.neuron[s]);", "wasm": false},
  {"bug": "bin input not rounded to float32 (engine integrates in float64)", "file": "src/neurons/conv.ts", "find": "this.roundToFloat32 = spec.precision === 'float32';", "replace": "this.roundToFloat32 = false;", "wasm": false},
  {"bug": "learning-rate doubling one application late", "file": "src/plasticity/vdsp.ts", "find": "applications % rule.learningRateInterval === 0", "replace": "applications % rule.learningRateInterval === 1", "wasm": false},
  {"bug": "no clip to [w_min, w_max] after VDSP", "file": "src/plasticity/vdsp.ts", "find": "  if (next < rule.weightMin) return rule.weightMin;\n  if (next > rule.weightMax) return rule.weightMax;\n", "replace": "", "wasm": false},
  {"bug": "potentiate on the wrong condition (p <= v_rest instead of p < v_rest)", "file": "src/plasticity/vdsp.ts", "find": "    if (p < rule.restV) {", "replace": "    if (p <= rule.restV) {", "wasm": false},
  {"bug": "winner map not forbidden for the rest of the sample", "file": "src/plasticity/winners.ts", "find": "  mask.mapUsed[map] = 1;\n", "replace": "", "wasm": false, "kernel": "js"},
  {"bug": "inhibition radius off by one (r − 1 below and to the right)", "file": "src/plasticity/winners.ts", "find": "const y1 = Math.min(height - 1, y + radius);\n  const x1 = Math.min(width - 1, x + radius);", "replace": "const y1 = Math.min(height - 1, y + radius - 1);\n  const x1 = Math.min(width - 1, x + radius - 1);", "wasm": false, "kernel": "js"},
  {"bug": "more than K winners per bin (K+1)", "file": "src/neurons/conv.ts", "find": "      spec.winners,\n      spec.inhibitionRadius,", "replace": "      spec.winners + 1,\n      spec.inhibitionRadius,", "wasm": false, "kernel": "js"},
  {"bug": "weights set mid-sample keep the skipping (the new bounds for the old potentials)", "file": "src/neurons/conv.ts", "find": "    this.step.settleAll();\n    this.unbounded = true;\n", "replace": "    this.step.settleAll();\n", "wasm": false},
  {"bug": "synaptic and fan-out counters swapped", "file": "src/neurons/conv.ts", "find": "        return counters[APPLIED] * maps;\n      },\n      get fanoutEvents() {\n        return counters[FANOUT] * maps;", "replace": "        return counters[FANOUT] * maps;\n      },\n      get fanoutEvents() {\n        return counters[APPLIED] * maps;", "wasm": false},
  {"bug": "skipping bound one tap too generous (a position that may cross is skipped)", "file": "src/neurons/kernels/integrate.ts", "find": "    n = next;\n  }\n  return n;", "replace": "    n = next;\n  }\n  return n + 1;", "wasm": false},
  {"bug": "dense MACs without the time bins", "file": "src/neurons/kinds/conv.ts", "find": "    return timeBins * neuronCount(spec.outShape) * spec.inShape.channels * spec.kernelSize * spec.kernelSize;", "replace": "    return neuronCount(spec.outShape) * spec.inShape.channels * spec.kernelSize * spec.kernelSize;", "wasm": false},
  {"bug": "pool window off by one (a window misses its last row)", "file": "src/neurons/pool.ts", "find": "    from[i] = Math.max(0, Math.ceil((i + padding - kernelSize + 1) / stride));", "replace": "    from[i] = Math.max(0, Math.ceil((i + padding - kernelSize + 2) / stride));", "wasm": false},
  {"bug": "pool neuron fires again in later bins (bin by bin)", "file": "src/neurons/pool.ts", "find": "      if (this.firedSample[j] === this.sample) continue;\n", "replace": "", "wasm": false},
  {"bug": "pool neuron fires again in later bins (a sample's bins in one loop)", "file": "src/neurons/pool.ts", "find": "          if (firedSample[j] === sample) continue;\n", "replace": "", "wasm": false, "kernel": "js"},
  {"bug": "pool neuron fires again in later bins (native loop)", "file": "src/neurons/kernels/integrate.c", "find": "        const int32_t alive = fired[j] != sample;", "replace": "        const int32_t alive = 1;", "native": true},
  {"bug": "a bin's conv spikes logged in descending order (native log)", "file": "src/neurons/kernels/integrate.c", "find": "    for (; j >= first && logNeuron[j] > flat; j--) {", "replace": "    for (; j >= first && logNeuron[j] < flat; j--) {", "native": true},
  {"bug": "a bin's conv spikes logged in descending order (JavaScript bin end)", "file": "src/neurons/conv.ts", "find": "      for (; j >= first && neuron[j] > flat; j--) {", "replace": "      for (; j >= first && neuron[j] < flat; j--) {", "wasm": false, "kernel": "js"},
  {"bug": "winner map not forbidden for the rest of the sample (native learner)", "file": "src/neurons/kernels/integrate.c", "find": "    L->mapUsed[map] = 1;\n", "replace": "", "native": true},
  {"bug": "more than K winners per bin (native learner, K+1)", "file": "src/neurons/kernels/integrate.c", "find": "i < n && winners < L->maxWinners; i++", "replace": "i < n && winners <= L->maxWinners; i++", "native": true},
  {"bug": "inhibition radius off by one (native learner, r − 1 to the right)", "file": "src/neurons/kernels/integrate.c", "find": "xx <= x1; xx++) L->inhibited", "replace": "xx < x1; xx++) L->inhibited", "native": true},
  {"bug": "learning-rate doubling one application late (native learner)", "file": "src/neurons/kernels/integrate.c", "find": "__builtin_fmod(*applications, (double)L->interval) == 0", "replace": "__builtin_fmod(*applications, (double)L->interval) == 1", "native": true},
  {"bug": "potentiate on the wrong condition (native learner, p <= v_rest)", "file": "src/neurons/kernels/integrate.c", "find": "    if (q < L->restV) {", "replace": "    if (q <= L->restV) {", "native": true},
  {"bug": "input potential at reset one bin late (native learner)", "file": "src/neurons/kernels/integrate.c", "find": "  if (t >= spikeBin) return L->inputReset;", "replace": "  if (t > spikeBin) return L->inputReset;", "native": true},
  {"bug": "input spikes put in the wrong bins (native input stage)", "file": "src/neurons/kernels/integrate.c", "find": "  for (int32_t t = T - 1; t > 0; t--) binStart[t] = binStart[t - 1];", "replace": "  for (int32_t t = T - 1; t > 1; t--) binStart[t] = binStart[t - 1];", "native": true},
  {"bug": "Math.random in the weight initialisation", "file": "src/neurons/kinds/conv.ts", "find": "    const v = random.normal(spec.weightInitMean, spec.weightInitSd);", "replace": "    const v = random.normal(spec.weightInitMean, spec.weightInitSd) + (Math.random() - 0.5) * 1e-3;", "wasm": false},
  {"bug": "STDP: a- stops following a+ when a+ doubles", "file": "src/plasticity/stdp.ts", "find": "    const aMinus = aPlus * this.ratio;", "replace": "    const aMinus = this.options.depressionRate;", "wasm": false},
  {"bug": "STDP potentiates inputs at rest (p <= v_rest: padding and silent inputs)", "file": "src/plasticity/stdp.ts", "find": "p < restV, aPlus, aMinus", "replace": "p <= restV, aPlus, aMinus", "wasm": false},
  {"bug": "worker chunks skip an image at each boundary", "file": "src/pipeline/workers.ts", "find": "          next = end;\n          worker.postMessage({ kind: 'extract', start, end }", "replace": "          next = end + 1;\n          worker.postMessage({ kind: 'extract', start, end }", "wasm": false}
];

let restore = null;
process.on('SIGINT', () => {
  if (restore) restore();
  process.exit(130);
});

let missed = 0;
for (const plant of plants) {
  const file = join(root, plant.file);
  const original = readFileSync(file, 'utf8');
  if (!original.includes(plant.find)) throw new Error(`${plant.file}: the code to plant "${plant.bug}" into has changed`);
  const rebuild = () => {
    if (plant.wasm) execSync('node scripts/build-wasm.mjs', { cwd: root, stdio: 'ignore' });
    if (plant.native) execSync('node scripts/build-native.mjs', { cwd: root, stdio: 'ignore', env: { ...process.env, EVSPIKE_REQUIRE_NATIVE: '1' } });
  };
  restore = () => {
    writeFileSync(file, original);
    rebuild();
  };
  const kernel = plant.wasm ? { EVSPIKE_KERNEL: 'wasm' } : plant.native ? { EVSPIKE_KERNEL: 'native' } : plant.kernel ? { EVSPIKE_KERNEL: plant.kernel } : {};
  try {
    writeFileSync(file, original.replace(plant.find, plant.replace));
    rebuild();
    let output = '';
    try {
      output = execSync('npx vitest run test/properties', { cwd: root, env: { ...process.env, ...kernel, NO_COLOR: '1' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      output = String(e.stdout);
    }
    const caught = [...output.matchAll(/^\s+× (.+?) \d+m?s$/gm)].map((m) => m[1]);
    console.log(`## ${plant.bug} (${plant.file})`);
    if (caught.length === 0) missed++;
    for (const c of caught.length ? caught : ['NOT CAUGHT']) console.log(`   ${c}`);
  } finally {
    restore();
    restore = null;
  }
}
console.log(`${plants.length - missed}/${plants.length} caught`);
process.exitCode = missed === 0 ? 0 : 1;
