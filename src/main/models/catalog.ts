/**
 * The model catalog: pretrained networks the studio can download from their publisher. Google's
 * MobileNet v1 LayersModels (tfjs-models), 224x224, inputs scaled to [-1, 1], ImageNet-1k.
 *
 * sha256: the digests of model.json are known only for the two models verified from independent
 * copies (../shared/models/*\/SOURCE.txt, identical bytes to Google's published files); the others
 * are left undefined until someone with internet access records them. Without a digest a download
 * is still verified structurally (manifest, every shard present with the exact byte size).
 */
export interface CatalogModel {
  id: string;
  name: string;
  publisher: string;
  licence: string;
  url: string;
  family: 'mobilenet_v1';
  alpha: number;
  inputSize: number;
  /** Pixel values are mapped from [0, 255] to this range. */
  scaling: readonly [number, number];
  /** Feature layer for scenario 1 (global average pooling of conv_pw_13_relu). */
  defaultFeatureLayer: string;
  /** The 4-D layer before pooling, for cuts that pool themselves. */
  lastConvLayer: string;
  featureDim: number;
  params: number | undefined;
  /** Total bytes of model.json + shards, where known. */
  sizeBytes: number | undefined;
  /** sha256 of model.json, where known (see the note above). */
  modelJsonSha256: string | undefined;
  classes: 'imagenet-1k';
}

const BASE = 'https://storage.googleapis.com/tfjs-models/tfjs';

function mobilenet(alpha: '0.25' | '0.50' | '0.75' | '1.0', extra: Partial<CatalogModel>): CatalogModel {
  const a = Number(alpha);
  return {
    id: `mobilenet_v1_${alpha}_224`,
    name: `MobileNet v1 ${alpha} (224)`,
    publisher: 'Google (TensorFlow.js team, tfjs-models)',
    licence: 'Apache-2.0',
    url: `${BASE}/mobilenet_v1_${alpha}_224/model.json`,
    family: 'mobilenet_v1',
    alpha: a,
    inputSize: 224,
    scaling: [-1, 1],
    defaultFeatureLayer: 'global_average_pooling2d_1',
    lastConvLayer: 'conv_pw_13_relu',
    featureDim: Math.round(1024 * a),
    params: undefined,
    sizeBytes: undefined,
    modelJsonSha256: undefined,
    classes: 'imagenet-1k',
    ...extra,
  };
}

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
];

export function catalogModel(id: string): CatalogModel | undefined {
  return CATALOG.find((m) => m.id === id);
}

/**
 * The entry fetched from a mirror laid out like the publisher's (<mirror>/<model id>/model.json):
 * for sites without internet access that host the files themselves, and for tests. The sha256 of
 * model.json is still checked, so a mirror cannot substitute other weights.
 */
export function fromMirror(entry: CatalogModel, mirror: string): CatalogModel {
  return { ...entry, url: new URL(`${entry.id}/model.json`, mirror.endsWith('/') ? mirror : `${mirror}/`).toString() };
}
