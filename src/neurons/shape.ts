/** Shapes of layers: channels × height × width, and the sizes convolutions and windows give. */

/** Channels × height × width of a layer's neurons. */
export interface Shape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** Number of neurons of a shape. */
export function neuronCount(shape: Shape): number {
  return shape.channels * shape.height * shape.width;
}

/** Output side of a kernel or window of side `kernel` sliding by `stride` over `inSize` padded by `padding`. */
export function outSize(inSize: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((inSize + 2 * padding - kernel) / stride) + 1;
}

/** `[channels, height, width]`, as model descriptions write shapes. */
export const shapeTuple = (s: Shape): [number, number, number] => [s.channels, s.height, s.width];
