// Types of the parts of ml-svm (a CommonJS package without its own types) that evspike uses.
declare module 'ml-svm' {
  interface SvmOptions {
    C?: number;
    tol?: number;
    maxPasses?: number;
    maxIterations?: number;
    kernel?: 'linear';
    alphaTol?: number;
    random?: () => number;
    whitening?: boolean;
  }
  class SVM {
    constructor(options?: SvmOptions);
    train(features: number[][], labels: number[]): void;
    predict(features: number[][]): number[];
    marginOne(features: number[]): number;
    W: number[];
    b: number;
  }
  export default SVM;
}
