/**
 * The model catalog: pretrained networks the studio can download from their publisher.
 *
 * - Google's MobileNet v1 LayersModels (tfjs-models), a TensorFlow.js folder each. sha256 of
 *   model.json is known only for the two models verified from independent copies
 *   (../shared/models/*\/SOURCE.txt); without one a download is still verified structurally
 *   (manifest, every shard present with the exact byte size).
 * - Keras Applications ImageNet weights (one .h5 file each, weights only: the topology is the
 *   studio's builder of the architecture, engine/keras/architectures.ts), downloaded from
 *   the address Keras itself uses and checked against the md5 Keras pins in get_file(file_hash=...)
 *   (keras/src/applications/*.py at keras-team/keras 3422977a; ../shared/models/keras/README.txt).
 *   Keras pins no hash for MobileNetV2: that file is verified structurally (an HDF5 weights file of
 *   the architecture) and by its size where a size is known.
 */
import type { PreprocessingMode } from '../../shared/domain';
import { ARCHITECTURES, type KerasArchitecture } from '../../shared/keras-architectures';

interface CatalogBase {
  id: string;
  name: string;
  publisher: string;
  licence: string;
  url: string;
  family: 'mobilenet_v1' | KerasArchitecture;
  inputSize: number;
  preprocessing: PreprocessingMode;
  /** The 4-D layer before pooling, for cuts that pool themselves. */
  lastConvLayer: string;
  featureDim: number;
  params: number | undefined;
  /** Total download size in bytes, where known; `sizeExact` false when it is an estimate. */
  sizeBytes: number | undefined;
  sizeExact: boolean;
  /** ImageNet top-1 as published (keras.io for the Keras files; TF-Slim's table for MobileNet v1). */
  top1: number | undefined;
  includeTop: boolean;
  classes: 'imagenet-1k';
}

export interface TfjsCatalogModel extends CatalogBase {
  kind: 'tfjs';
  family: 'mobilenet_v1';
  alpha: number;
  /** Pixel values are mapped from [0, 255] to this range. */
  scaling: readonly [number, number];
  /** Feature layer for scenario 1 (global average pooling of conv_pw_13_relu). */
  defaultFeatureLayer: string;
  /** sha256 of model.json, where known (see the note above). */
  modelJsonSha256: string | undefined;
}

export interface KerasCatalogModel extends CatalogBase {
  kind: 'keras';
  family: KerasArchitecture;
  /** The file name Keras downloads (and caches) it under. */
  fileName: string;
  /** Keras' pinned hash, and the source file that pins it; null where Keras pins none. */
  hash: { algorithm: 'md5'; value: string; pinnedIn: string } | null;
  /** Other hashes that identify a genuine Keras file of the same name (ResNet50's first release). */
  alsoAccepted: string[];
}

export type CatalogModel = TfjsCatalogModel | KerasCatalogModel;

const BASE = 'https://storage.googleapis.com/tfjs-models/tfjs';

/** Top-1 of MobileNet v1 at 224 as Google publishes it (TF-Slim's mobilenet_v1.md, the checkpoints tfjs-models converted). */
const MOBILENET_V1_TOP1: Record<string, number> = { '0.25': 0.498, '0.50': 0.633, '0.75': 0.684, '1.0': 0.709 };

function mobilenet(alpha: '0.25' | '0.50' | '0.75' | '1.0', extra: Partial<TfjsCatalogModel>): TfjsCatalogModel {
  const a = Number(alpha);
  return {
    kind: 'tfjs',
    id: `mobilenet_v1_${alpha}_224`,
    name: `MobileNet v1 ${alpha} (224)`,
    publisher: 'Google (TensorFlow.js team, tfjs-models)',
    licence: 'Apache-2.0',
    url: `${BASE}/mobilenet_v1_${alpha}_224/model.json`,
    family: 'mobilenet_v1',
    alpha: a,
    inputSize: 224,
    preprocessing: 'tf',
    scaling: [-1, 1],
    defaultFeatureLayer: 'global_average_pooling2d_1',
    lastConvLayer: 'conv_pw_13_relu',
    featureDim: Math.round(1024 * a),
    params: undefined,
    sizeBytes: undefined,
    sizeExact: true,
    top1: MOBILENET_V1_TOP1[alpha],
    includeTop: true,
    modelJsonSha256: undefined,
    classes: 'imagenet-1k',
    ...extra,
  };
}

const KERAS_PUBLISHER = 'Keras team (Keras Applications)';
const LICENCES: Record<KerasArchitecture, string> = {
  vgg16: 'CC BY (weights, Oxford VGG group; version not confirmed); Keras code Apache-2.0',
  resnet50: 'MIT (weights converted from Kaiming He\'s Caffe models); Keras code Apache-2.0',
  mobilenet_v2: 'Apache-2.0 (weights and code, Google)',
  efficientnetb0: 'Apache-2.0 (weights and code, Google)',
};
const KERAS_BASE = 'https://storage.googleapis.com/tensorflow/keras-applications';

/** Rounded download size in bytes: the publisher's MB figure, else float32 parameters (the HDF5 overhead is small). */
const estimate = (params: number) => params * 4;

function keras(
  arch: KerasArchitecture,
  includeTop: boolean,
  file: { url: string; fileName: string; md5: string | null; pinnedIn: string; sizeBytes?: number; sizeExact?: boolean; alsoAccepted?: string[] },
): KerasCatalogModel {
  const a = ARCHITECTURES[arch];
  const params = includeTop ? a.params.top : a.params.notop;
  return {
    kind: 'keras',
    id: includeTop ? arch : `${arch}_notop`,
    name: `${a.name}${includeTop ? '' : ' (no top)'}`,
    publisher: KERAS_PUBLISHER,
    licence: LICENCES[arch],
    url: file.url,
    family: arch,
    inputSize: a.inputSize,
    preprocessing: a.preprocessing,
    lastConvLayer: a.lastConvLayer,
    featureDim: a.featureDim,
    params,
    sizeBytes: file.sizeBytes ?? estimate(params),
    sizeExact: file.sizeExact ?? false,
    top1: a.top1,
    includeTop,
    classes: 'imagenet-1k',
    fileName: file.fileName,
    hash: file.md5 ? { algorithm: 'md5', value: file.md5, pinnedIn: file.pinnedIn } : null,
    alsoAccepted: file.alsoAccepted ?? [],
  };
}

const vggFile = (top: boolean) => `vgg16_weights_tf_dim_ordering_tf_kernels${top ? '' : '_notop'}.h5`;
const resnetFile = (top: boolean) => `resnet50_weights_tf_dim_ordering_tf_kernels${top ? '' : '_notop'}.h5`;
const mnv2File = (top: boolean) => `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224${top ? '' : '_no_top'}.h5`;
const effFile = (top: boolean) => `efficientnetb0${top ? '' : '_notop'}.h5`;

export const CATALOG: readonly CatalogModel[] = [
  mobilenet('0.25', {
    params: 475_544,
    sizeBytes: 1_951_543,
    modelJsonSha256: '47417a9a7318ac0de893ed738ae84c6c26c294a415f06c421ff1c6af45df84f1',
  }),
  mobilenet('0.50', {}),
  mobilenet('0.75', {
    params: 2_601_976,
    sizeBytes: 10_457_307,
    modelJsonSha256: 'a74c25424bd9939b1c245a58da417e35d1ca16f0b009490a1c44b43d982600d9',
  }),
  mobilenet('1.0', {}),
  keras('vgg16', false, { url: `${KERAS_BASE}/vgg16/${vggFile(false)}`, fileName: vggFile(false), md5: '6d6bbae143d832006294945121d1f1fc', pinnedIn: 'keras/src/applications/vgg16.py' }),
  keras('vgg16', true, { url: `${KERAS_BASE}/vgg16/${vggFile(true)}`, fileName: vggFile(true), md5: '64373286793e3c8b2b4e3219cbf3544b', pinnedIn: 'keras/src/applications/vgg16.py', sizeBytes: 528e6 }),
  keras('resnet50', false, {
    url: `${KERAS_BASE}/resnet/${resnetFile(false)}`,
    fileName: resnetFile(false),
    md5: '4d473c1dd8becc155b73f8504c6f6626',
    pinnedIn: 'keras/src/applications/resnet.py (WEIGHTS_HASHES["resnet50"])',
    // The size of an independent copy (a Git LFS pointer), not a Keras figure.
    sizeBytes: 94_765_736,
    sizeExact: true,
    alsoAccepted: ['a268eb855778b3df3c7506639542a6af'],
  }),
  keras('resnet50', true, {
    url: `${KERAS_BASE}/resnet/${resnetFile(true)}`,
    fileName: resnetFile(true),
    md5: '2cb95161c43110f7111970584f804107',
    pinnedIn: 'keras/src/applications/resnet.py (WEIGHTS_HASHES["resnet50"])',
    sizeBytes: 98e6,
    alsoAccepted: ['a7b3fe01876f51b976af0dea6bc144eb'],
  }),
  keras('mobilenet_v2', false, {
    url: `${KERAS_BASE}/mobilenet_v2/${mnv2File(false)}`,
    fileName: mnv2File(false),
    md5: null,
    pinnedIn: 'keras/src/applications/mobilenet_v2.py (get_file without file_hash)',
    sizeBytes: 9_406_464,
    sizeExact: true,
  }),
  keras('mobilenet_v2', true, { url: `${KERAS_BASE}/mobilenet_v2/${mnv2File(true)}`, fileName: mnv2File(true), md5: null, pinnedIn: 'keras/src/applications/mobilenet_v2.py (get_file without file_hash)', sizeBytes: 14e6 }),
  keras('efficientnetb0', false, {
    url: `https://storage.googleapis.com/keras-applications/${effFile(false)}`,
    fileName: effFile(false),
    md5: '50bc09e76180e00e4465e1a485ddc09d',
    pinnedIn: 'keras/src/applications/efficientnet.py (WEIGHTS_HASHES["b0"])',
  }),
  keras('efficientnetb0', true, {
    url: `https://storage.googleapis.com/keras-applications/${effFile(true)}`,
    fileName: effFile(true),
    md5: '902e53a9f72be733fc0bcb005b3ebbac',
    pinnedIn: 'keras/src/applications/efficientnet.py (WEIGHTS_HASHES["b0"])',
    sizeBytes: 29e6,
  }),
];

export function catalogModel(id: string): CatalogModel | undefined {
  return CATALOG.find((m) => m.id === id);
}

/** The Keras catalog entry published under a file name (Keras' own cache names), if any. */
export function kerasEntryByFileName(fileName: string): KerasCatalogModel | undefined {
  return CATALOG.find((m): m is KerasCatalogModel => m.kind === 'keras' && m.fileName === fileName);
}

/**
 * The entry fetched from a mirror laid out like the publisher's (<mirror>/<model id>/model.json, or
 * <mirror>/<model id>/<Keras file name>): for sites without internet access that host the files
 * themselves, and for tests. The pinned hashes are still checked, so a mirror cannot substitute other weights.
 */
export function fromMirror(entry: CatalogModel, mirror: string): CatalogModel {
  const file = entry.kind === 'keras' ? entry.fileName : 'model.json';
  return { ...entry, url: new URL(`${entry.id}/${file}`, mirror.endsWith('/') ? mirror : `${mirror}/`).toString() };
}
