// The parts of the WebAssembly JavaScript API that evspike uses. Node.js provides the global;
// @types/node for Node 20 does not declare it (lib.dom.d.ts does, but evspike is not a DOM
// program).
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
