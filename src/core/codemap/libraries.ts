// What the interpreter knows of the libraries model code calls: which callables make PyTorch
// modules or Keras layers, which of those never hold parameters, and Keras's default names.
import type { Framework } from './values';

export type LibKind =
  | { kind: 'container'; container: 'Sequential' | 'ModuleList' | 'ModuleDict' }
  | { kind: 'module'; framework: Framework; cls: string; paramless: boolean }
  | { kind: 'keras-sequential' }
  /** keras.Model(inputs, outputs): a functional model; `defaultName` as that Keras names it. */
  | { kind: 'keras-functional'; defaultName: string }
  | { kind: 'keras-input' }
  | { kind: 'not-a-layer' }
  | { kind: 'builtin'; name: string };

/** PyTorch/Keras classes that own no parameter or buffer: a line creating one gets no hint. */
const PARAMLESS = new Set([
  'ReLU', 'ReLU6', 'GELU', 'SiLU', 'Mish', 'Sigmoid', 'Tanh', 'Hardswish', 'Hardsigmoid', 'Hardtanh', 'LeakyReLU',
  'ELU', 'SELU', 'CELU', 'Softmax', 'LogSoftmax', 'Softplus', 'Identity', 'Flatten', 'Unflatten', 'Upsample',
  'UpsamplingNearest2d', 'UpsamplingBilinear2d', 'PixelShuffle', 'PixelUnshuffle', 'ZeroPad2d', 'ConstantPad2d',
  'ReflectionPad2d', 'ReplicationPad2d', 'Dropout', 'Dropout1d', 'Dropout2d', 'Dropout3d', 'AlphaDropout',
  'MaxPool1d', 'MaxPool2d', 'MaxPool3d', 'AvgPool1d', 'AvgPool2d', 'AvgPool3d', 'AdaptiveAvgPool1d',
  'AdaptiveAvgPool2d', 'AdaptiveAvgPool3d', 'AdaptiveMaxPool1d', 'AdaptiveMaxPool2d', 'AdaptiveMaxPool3d',
  'CrossEntropyLoss', 'MSELoss', 'L1Loss', 'NLLLoss', 'BCELoss', 'BCEWithLogitsLoss',
  // Keras
  'Activation', 'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'AveragePooling1D', 'AveragePooling2D',
  'AveragePooling3D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalAveragePooling3D',
  'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'GlobalMaxPooling3D', 'SpatialDropout1D', 'SpatialDropout2D',
  'Reshape', 'Permute', 'RepeatVector', 'Lambda', 'Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum',
  'Concatenate', 'Dot', 'ZeroPadding1D', 'ZeroPadding2D', 'ZeroPadding3D', 'Cropping1D', 'Cropping2D', 'UpSampling1D',
  'UpSampling2D', 'UpSampling3D', 'InputLayer', 'Rescaling', 'Resizing', 'CenterCrop', 'RandomFlip', 'RandomRotation',
  'RandomZoom', 'RandomCrop', 'RandomContrast', 'RandomTranslation', 'GaussianNoise', 'GaussianDropout',
]);

const BUILTINS = new Set([
  'range', 'len', 'list', 'tuple', 'dict', 'enumerate', 'zip', 'int', 'float', 'str', 'min', 'max', 'sum', 'abs',
  'round', 'reversed', 'sorted', 'setattr', 'getattr', 'super', 'isinstance', 'print', 'OrderedDict',
]);

export function isBuiltin(name: string): boolean { return BUILTINS.has(name); }

const lastOf = (q: string) => q.slice(q.lastIndexOf('.') + 1);

/** What calling the library callable `qualified` (`torch.nn.Conv2d`, `tensorflow.keras.layers.Dense`) makes. */
export function classify(qualified: string): LibKind {
  const cls = lastOf(qualified);
  if (qualified === cls && BUILTINS.has(cls)) return { kind: 'builtin', name: cls };
  if (qualified === 'collections.OrderedDict') return { kind: 'builtin', name: 'OrderedDict' };
  const keras = /(^|\.)keras(\.|$)/.test(qualified);
  if (keras) {
    if (cls === 'Sequential') return { kind: 'keras-sequential' };
    // tf.keras 2 names a functional model `model`, Keras 3 `functional`.
    if (cls === 'Model' || cls === 'Functional') return { kind: 'keras-functional', defaultName: /^tensorflow\./.test(qualified) ? 'model' : 'functional' };
    if (cls === 'Input') return { kind: 'keras-input' };
    // Layers live under `layers`; keras.Input, keras.Model and optimizers, losses, ... make no layer.
    if (!/(^|\.)layers\./.test(qualified) || cls === 'Input' || !/^[A-Z]/.test(cls)) return { kind: 'not-a-layer' };
    return { kind: 'module', framework: 'keras', cls, paramless: PARAMLESS.has(cls) };
  }
  if (/^torch\.nn\.(functional|init|utils)\b/.test(qualified)) return { kind: 'not-a-layer' };
  if (cls === 'Sequential' || cls === 'ModuleList' || cls === 'ModuleDict') return { kind: 'container', container: cls };
  if (cls === 'Parameter') return { kind: 'module', framework: 'pytorch', cls, paramless: false };
  if (/^torch\.nn\./.test(qualified) || /^torchvision\.(models|ops)\./.test(qualified) || /^timm\.create_model$/.test(qualified)) {
    return { kind: 'module', framework: 'pytorch', cls, paramless: PARAMLESS.has(cls) };
  }
  // Another library's class (a module of torchvision, timm, a package of the user's): opaque; it
  // becomes a layer only where the checkpoint has names under the path it is registered at.
  if (/^[A-Z]/.test(cls) && !/(Error|Exception|Warning)$/.test(cls) && !/^(torch|numpy|np|math|os|pathlib|typing)\./.test(qualified)) {
    return { kind: 'module', framework: 'pytorch', cls, paramless: PARAMLESS.has(cls) };
  }
  return { kind: 'not-a-layer' };
}

/** Keras's default layer name for a class: `to_snake_case` of keras.src.utils.naming. */
export function kerasSnake(cls: string): string {
  return cls.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}
