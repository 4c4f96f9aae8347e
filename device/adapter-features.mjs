// Prints the WebGPU adapter's features, limits of interest and (where Dawn exposes them) subgroup-matrix
// configurations, through the bundle's dawn.node: bash .device/run.sh has set up Vulkan; run as
//   .device/bin/node device/adapter-features.mjs
import { create, globals } from '../.device/node_modules/webgpu/index.js';
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('no WebGPU adapter');
console.log('features', [...adapter.features].sort().join(' '));
const info = adapter.info ?? {};
console.log('info', JSON.stringify(Object.fromEntries(Object.keys(Object.getPrototypeOf(info)).concat(Object.keys(info)).map((k) => [k, info[k]]))));
if (adapter.features.has('chromium-experimental-subgroup-matrix')) {
  const device = await adapter.requestDevice({ requiredFeatures: ['chromium-experimental-subgroup-matrix'] });
  const configs = adapter.info?.subgroupMatrixConfigs ?? device.adapterInfo?.subgroupMatrixConfigs;
  console.log('subgroupMatrixConfigs', JSON.stringify(configs ?? 'not exposed by this dawn.node'));
  for (const [name, type] of [['f32', 'f32'], ['f16', 'f16']]) {
    const enable = type === 'f16' ? 'enable f16;\n' : '';
    const code = `${enable}enable chromium_experimental_subgroup_matrix;
@compute @workgroup_size(32) fn main() {
  let a = subgroup_matrix_left<${type}, 8, 8>();
  let b = subgroup_matrix_right<${type}, 8, 8>();
  var c = subgroup_matrix_result<f32, 8, 8>();
  c = subgroupMatrixMultiplyAccumulate(a, b, c);
}`;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code });
    const msgs = (await module.getCompilationInfo()).messages.map((m) => m.message).join(' | ');
    const err = await device.popErrorScope();
    console.log(`subgroup matrix ${name} x ${name} -> f32 8x8:`, err ? `rejected: ${err.message.split('\n')[0]}` : 'accepted', msgs);
  }
  device.destroy();
}
