/**
 * What every spec needs: the backends, the core gradients (the plugin does not register them) and the
 * plugin itself. In Node, test/setup/node.ts runs before this so that WebGPU (Dawn) is visible to
 * tfjs-backend-webgpu when it loads.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgpu';
import '../../src/index';
import './gpu_errors';
