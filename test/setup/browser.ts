/**
 * Browser (karma) only: delays karma-jasmine's start until `prepareBackends()` has settled which
 * backends run (WebGPU needs an async adapter request, and describe blocks are collected synchronously).
 */
import {prepareBackends} from '../helpers/backends';

interface Karma {
  start: (...args: unknown[]) => void;
  error: (message: string) => void;
}

const karma = (window as unknown as {__karma__: Karma}).__karma__;
const start = karma.start;
karma.start = function(this: unknown, ...args: unknown[]) {
  prepareBackends().then(
      () => start.apply(this, args),
      (e: Error) => karma.error(`prepareBackends failed: ${e.stack ?? e.message}`));
};
