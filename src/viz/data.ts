/**
 * What the pictures show: plain data, gathered by the pipeline (`pipeline/pictures.ts`) and
 * drawn by `visualize.ts`. Nothing here runs a network.
 */

/** The learned kernels of one layer with weights. */
export interface KernelData {
  layer: number;
  maps: number;
  inChannels: number;
  kernelSize: number;
  /** maps × inChannels × k × k */
  weights: ArrayLike<number>;
  weightMin: number;
  weightMax: number;
}

/** One layer's spikes in one sample. */
export interface RasterData {
  layer: number;
  /** The layer's kind (`input`, or a kind of the registry). */
  kind: string;
  neurons: number;
  /** Positions per map (height × width), and maps (channels). */
  positions: number;
  maps: number;
  /** Flat neuron index (channel · positions + position) and bin of each spike, in emission order. */
  neuron: Int32Array;
  time: Float64Array;
}

/** Test images with their labels, for one panel of the predictions picture. */
export interface PredictionPanelData {
  images: Uint8Array[];
  /** Index of each image in the test set. */
  indices: number[];
  truth: number[];
  predicted: number[];
}

export interface PicturesData {
  kernels: KernelData[];
  /** The first layer's weights before and after training. */
  histogram: { before: number[]; after: number[]; weightMin: number; weightMax: number };
  convergence: { threshold: number; layers: { layer: number; samples: number; stoppedBy: string; history: number[] }[] };
  raster: { sample: number; timeBins: number; layers: RasterData[] };
  /** Absent while the checkpoint has no readout. */
  predictions?: { height: number; width: number; first: PredictionPanelData; mistakes: PredictionPanelData };
}
