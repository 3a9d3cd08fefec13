// Build the native conv kernel (src/neurons/kernels/integrate.c, binding.gyp) with node-gyp
// into build/Release/evspike_kernel.node. Optional: where there is no C compiler or no
// node-gyp, the build says so and the simulator uses the WebAssembly kernel (same results,
// slower). EVSPIKE_REQUIRE_NATIVE=1 makes a failed build fail.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const required = process.env.EVSPIKE_REQUIRE_NATIVE === '1';

/** node-gyp's script: the one npm runs its scripts with, else the one bundled with npm. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((p) => p !== undefined && p !== '' && existsSync(p));
}

function skip(why) {
  const line = `evspike: the native kernel was not built (${why}); the WebAssembly kernel will be used (same results, slower)`;
  if (required) {
    console.error(line);
    process.exit(1);
  }
  console.warn(line);
  process.exit(0);
}

/** Node's own headers, where they are installed with it: node-gyp then downloads nothing. */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

const gyp = nodeGyp();
if (gyp === undefined) skip('node-gyp not found');
const dir = nodeDir();
const r = spawnSync(process.execPath, [gyp, 'rebuild', ...(dir === undefined ? [] : [`--nodedir=${dir}`])], { cwd: root, encoding: 'utf8' });
if (r.status !== 0) {
  const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  if (tail !== '') console.warn(tail);
  skip(r.error?.message ?? `node-gyp exited with ${r.status}`);
}
console.log('evspike: built the native kernel (build/Release/evspike_kernel.node)');
