/**
 * The conversion setting that `npm run demo` applies to USE-lite: the best row of docs/accuracy.md at
 * 50% overall sparsity, and the row of docs/results/use-lite.json its accuracy figures come from.
 */
import type {GraphSparsifyOptions} from '../../src/graph';

export const BEST = {
  label: 'sparsegpt, 50% of every matmul weight',
  options: {sparsity: 0.5, method: 'sparsegpt'} as GraphSparsifyOptions,
  /**
   * IMDB train reviews to calibrate on, the last of the evaluation's train split (never its test
   * reviews). The evaluation used 128; fewer keep the demo short.
   */
  calibrationReviews: 32,
  evalMethod: 'sparsegpt',
  evalTarget: 0.5,
};
