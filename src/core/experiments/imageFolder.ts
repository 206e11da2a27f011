// An evaluation set as a folder of images in class subfolders (`val/cat/1.jpg`, `val/dog/2.png`,
// as torchvision's ImageFolder and Keras's image_dataset_from_directory read them): labels are the
// subfolders in sorted order, pixels decoded, resized bilinearly to the model's input, scaled to
// [0, 1] and, when asked (--mean/--std, settings reuseLens.experiments.imageMean/.imageStd),
// normalised per channel as torchvision's Normalize does: (pixel / 255 − mean) / std.
// Decoders: jpeg-js and pngjs, pure JavaScript: nothing native to ship per platform in the .vsix,
// and bounded (jpeg-js refuses images past a resolution and memory cap), where sharp would bring
// libvips binaries for each platform to decode a few hundred evaluation images.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { CheckpointError } from '../common/errors';
import type { EvalSet, ImageNormalization, InputLayout, ModelInput } from './evalSet';
import { MAX_EVAL_ELEMENTS } from './evalSet';

const IMAGE = new Set(['.jpg', '.jpeg', '.png']);
/** Largest image file read (bytes) and decoded (megapixels). */
const MAX_IMAGE_BYTES = 64 << 20;
const MAX_MEGAPIXELS = 64;

interface Rgba { width: number; height: number; data: Uint8Array }

export async function loadImageFolder(path: string, model: ModelInput, layout: InputLayout, normalize?: ImageNormalization): Promise<EvalSet> {
  const dims = model.shape.slice(1);
  const fixed = (d: unknown): d is number => typeof d === 'number' && d > 0;
  if (dims.length !== 3 || !dims.every(fixed)) {
    throw new CheckpointError(path, `is a folder of images, but the model's input [N, ${dims.map((d) => (fixed(d) ? d : '?')).join(', ')}] is not an image of fixed size: pass an .npz with x and y`);
  }
  const [h, w, c] = layout === 'channels-last' ? dims : [dims[1], dims[2], dims[0]];
  if (c !== 1 && c !== 3) throw new CheckpointError(path, `is a folder of images, but the model takes ${c} channels (images give 1 or 3): pass an .npz with x and y`);
  const { mean, std } = perChannel(path, normalize, c);
  const classes = (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (!classes.length) throw new CheckpointError(path, 'has no class subfolders: put the images of class k in a subfolder per class (sorted names give the labels 0, 1, ...)');
  const files: { file: string; label: number }[] = [];
  for (const [label, cls] of classes.entries()) {
    const names = (await readdir(join(path, cls))).filter((n) => IMAGE.has(extname(n).toLowerCase())).sort();
    for (const n of names) files.push({ file: join(path, cls, n), label });
  }
  if (!files.length) throw new CheckpointError(path, `holds no .jpg or .png image in its class subfolders (${classes.slice(0, 5).join(', ')})`);
  const per = h * w * c;
  if (files.length * per > MAX_EVAL_ELEMENTS) throw new CheckpointError(path, `holds ${files.length} images of ${h}x${w}x${c} after resizing, more than the ${MAX_EVAL_ELEMENTS.toLocaleString('en-US')} values an evaluation set may have: use a subset`);
  const x = new Float32Array(files.length * per);
  for (const [i, { file }] of files.entries()) {
    const img = await decode(file);
    writePixels(img, h, w, c, layout, mean, std, x.subarray(i * per, (i + 1) * per));
  }
  return {
    path, inputs: [{ name: model.name, array: 'images', data: x, shape: [files.length, ...dims as number[]] }],
    y: Float32Array.from(files, (f) => f.label), yShape: [files.length], yInteger: true, classes,
  };
}

async function decode(file: string): Promise<Rgba> {
  const size = (await stat(file)).size;
  if (size > MAX_IMAGE_BYTES) throw new CheckpointError(file, `is ${size} bytes, more than the ${MAX_IMAGE_BYTES} an evaluation image may have`);
  const bytes = await readFile(file);
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50) {
      const png = PNG.sync.read(bytes);
      if (png.width * png.height > MAX_MEGAPIXELS * 1e6) throw new Error(`${png.width}x${png.height} is too large`);
      return { width: png.width, height: png.height, data: png.data };
    }
    const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 1024 });
    return { width: j.width, height: j.height, data: j.data };
  } catch (e) {
    throw new CheckpointError(file, `cannot be decoded as ${bytes[0] === 0x89 ? 'PNG' : 'JPEG'} (${(e as Error).message})`);
  }
}

/** Mean and std per channel (one value applies to all); none given: 0 and 1 (pixels in [0, 1]). */
function perChannel(path: string, n: ImageNormalization | undefined, c: number): { mean: number[]; std: number[] } {
  if (!n) return { mean: new Array<number>(c).fill(0), std: new Array<number>(c).fill(1) };
  const fit = (v: number[], what: string) => {
    if (v.length === 1) return new Array<number>(c).fill(v[0]);
    if (v.length !== c) throw new CheckpointError(path, `the images are normalised with ${v.length} ${what} values but the model takes ${c} channel${c > 1 ? 's' : ''}: give ${c} (or one for all)`);
    return v;
  };
  const std = fit(n.std, 'std');
  if (std.some((s) => !(s > 0))) throw new CheckpointError(path, `std ${std.join(',')} holds a value that is not positive; each channel is divided by its std`);
  return { mean: fit(n.mean, 'mean'), std };
}

/** Bilinear resize (pixel centres aligned, as tf.image.resize and PIL do) to h x w, scaled to [0, 1], then (v − mean) / std per channel. */
function writePixels(img: Rgba, h: number, w: number, c: number, layout: InputLayout, mean: number[], std: number[], out: Float32Array): void {
  const sy = img.height / h, sx = img.width / w;
  const at = (yy: number, xx: number, ch: number) => img.data[(yy * img.width + xx) * 4 + ch];
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, img.height - 1), dy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, img.width - 1), dx = fx - x0;
      const rgb = [0, 1, 2].map((ch) => (at(y0, x0, ch) * (1 - dx) + at(y0, x1, ch) * dx) * (1 - dy) + (at(y1, x0, ch) * (1 - dx) + at(y1, x1, ch) * dx) * dy);
      const px = c === 1 ? [(rgb[0] + rgb[1] + rgb[2]) / 3] : rgb;
      for (let ch = 0; ch < c; ch++) {
        const i = layout === 'channels-last' ? (y * w + x) * c + ch : ch * h * w + y * w + x;
        out[i] = (px[ch] / 255 - mean[ch]) / std[ch];
      }
    }
  }
}
