/**
 * evspike: an event-driven simulator of single-spike convolutional spiking networks that learn
 * with voltage-dependent synaptic plasticity (Goupy et al. 2023). The public API.
 */
export { EvspikeError, OptionError, DataFileError, TraceFormatError } from './errors.js';
export { SeededRandom, shuffledIndices } from './util/random.js';
export { decodeIdx, readIdxFile, readImageSet, imageAt, type IdxArray, type ImageSet } from './data/idx.js';
export { loadMnist, embeddedMnistDir, type MnistData } from './data/mnist.js';
export { loadDataset, DATASETS, type Dataset, type DatasetName } from './data/datasets.js';
export {
  resolveNetwork,
  neuronCount,
  convLayers,
  trainableLayers,
  NETWORK_DEFAULTS,
  CONV_DEFAULTS,
  POOL_DEFAULTS,
  type NetworkOptions,
  type LayerOptions,
  type ConvLayerOptions,
  type PoolLayerOptions,
  type ResolvedNetwork,
  type ResolvedLayer,
  type ResolvedConvLayer,
  type ResolvedPoolLayer,
  type Precision,
  type Shape,
} from './neurons/network.js';
export { rankOrderEncode, InputPotential, NO_SPIKE } from './neurons/encoder.js';
export { ConvLayer } from './neurons/conv.js';
export { PoolLayer } from './neurons/pool.js';
export { InputLayer } from './neurons/input.js';
export { isTrainable, type SpikeLog, type LayerCounts, type RuntimeLayer, type TrainableLayer, type PresynapticLayer } from './neurons/layer.js';
export { LAYER_KINDS, kindOf, type LayerKindName, type LayerOptions as AnyLayerOptions } from './neurons/kinds/index.js';
export type { LayerKind, CreateContext, DenseKernel, DenseStepIo, ResolveAt } from './neurons/kinds/kind.js';
export type { KernelChoice, KernelName } from './neurons/kernels/integrate.js';
export { vdspWeight, applyVdsp, nextLearningRate, VDSP, VDSP_DEFAULTS, type VdspRule, type LearningRateRule, type VdspOptions } from './plasticity/vdsp.js';
export { stdpWeight, nextPotentiationRate, STDP, STDP_DEFAULTS, type StdpOptions } from './plasticity/stdp.js';
export { LEARNING_RULES, resolveLearning, createLearningRule, type LearningOptions, type ResolvedLearning } from './plasticity/rules.js';
export type { LearningRule, LearningRuleKind, LearningState, RuleContext } from './plasticity/rule.js';
export { convergence } from './plasticity/convergence.js';
export { selectWinners, createWinnerMask, resetWinnerMask, type WinnerMask } from './plasticity/winners.js';
export { EventQueue, SPIKE, BIN_END, type QueuedEvent, type QueuedKind } from './events/queue.js';
export { Engine, denseMacs, type EngineOptions, type SampleOptions } from './events/engine.js';
export { SimulationStreams, type SpikeEvent, type SampleSummary, type LayerSummary, type SimulationEvent } from './events/stream.js';
export { trainNetwork, resolveTrainOptions, type TrainOptions, type LayerTrainResult, type TrainProgress } from './pipeline/train.js';
export { inferImages, addSummary, emptyTotals, type RunTotals } from './pipeline/infer.js';
export { denseSample, denseLearning, type DenseSample, type DenseLearning } from './reference/dense.js';
export { readTrace, parseTrace, type Trace } from './replay/trace.js';
export { replayTrace, jaccard, type ReplayResult, type ReplayReport, type ReplayOptions } from './replay/replay.js';
export { FeatureBuilder, concatFeatures, sameFeatures, type SparseFeatures } from './readout/features.js';
export {
  trainLinearReadout,
  trainBinarySvm,
  predictLabels,
  readoutScores,
  accuracy,
  resolveLinearSvmOptions,
  type LinearReadout,
  type LinearSvmOptions,
  type BinarySvm,
} from './readout/linear-svm.js';
export { trainMlSvmReadout, ML_SVM_MAX_SAMPLES } from './readout/ml-svm.js';
export { extractFeatures, featureCount, type ExtractResult } from './pipeline/extract.js';
export { loadScenario, resolveScenario, withOverrides, scenarioJson, applySetting, shippedScenarios, type ResolvedScenario, type ScenarioOptions, type ScenarioOverrides } from './pipeline/scenario.js';
export { runExperiment, trainPhase, restoreTrained, extractPhase, readoutPhase, sampleFigures, type RunOptions, type RunResult, type Phase, type Trained } from './pipeline/run.js';
export { evaluateCheckpoint, type EvaluateOptions, type EvaluateResult } from './pipeline/evaluate.js';
export { readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointPayload } from './pipeline/checkpoint.js';
export { WorkerPool } from './pipeline/workers.js';
export { networkOptionsOf } from './neurons/network.js';
export { describeModel, descriptionNetwork, descriptionWeights, engineFromDescription, type ModelDescription, type LayerNode, type SsifConvNode, type SingleSpikePoolNode, type LinearReadoutNode } from './export/model.js';
export { describeCheckpoint, compareOnnxWithSimulator, type OnnxComparison, type OnnxComparisonOptions } from './pipeline/onnx.js';
export { buildOnnxModel, splitWeights, ONNX_OPSET, ONNX_IR_VERSION, type ModelInput, type EvspikeModelMetadata } from './export/onnx.js';
export { readOnnxModel, type LoadedOnnxModel } from './export/read.js';
export { openSession, runBatch, CUDA_INSTALL_HINT, type Device, type OpenedSession, type OnnxBatchResult } from './export/session.js';
export { drawFigures, writeFigure, figureSpecs, figureFiles, FIGURES, type FigureName } from './viz/figures.js';
export { renderFigure, renderSvg, rasterise, figureFontFiles, type RenderedFigure } from './viz/render.js';
export { visualizeCheckpoint, picturesData, type PicturesOptions } from './pipeline/pictures.js';
export type { PicturesData, KernelData, RasterData, PredictionPanelData } from './viz/data.js';
export {
  weightsSpec,
  weightHistogramSpec,
  convergenceSpec,
  rasterSpec,
  predictionsSpec,
  metricAgainstParameterSpec,
  histogram,
  HISTOGRAM_BINS,
  type SweepPoint,
  type MetricChartOptions,
} from './viz/specs.js';
export {
  loadSweep,
  sweepPoints,
  runSweep,
  runSweepPoint,
  runPoint,
  readSweepResults,
  sweepTable,
  sweepCsv,
  dataChecksum,
  shippedSweeps,
  type ResolvedSweep,
  type SweepPart,
  type SweepAxis,
  type SweepPointSpec,
  type SweepPointResult,
  type SweepRow,
  type SweepRun,
} from './pipeline/sweep.js';
export { coordinateSweep, startSweepWorker, parseQueueUrl, probeRedis, checkJobData, QUEUE_NAME, DEFAULT_QUEUE_TIMING, type QueueTiming, type RedisConnection, type SweepJobData } from './pipeline/distributed.js';
export { runPixelBaseline, pixelFeatures } from './pipeline/baseline.js';
