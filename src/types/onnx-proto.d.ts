// onnx-proto ships its own types for the `onnx` namespace (dist/onnx.d.ts) but as a CommonJS
// module whose default export carries it; this re-declares that default export.
declare module 'onnx-proto/dist/onnx.js' {
  import { onnx } from 'onnx-proto';
  const mod: { onnx: typeof onnx };
  export default mod;
}
