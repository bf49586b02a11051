/**
 * Audit quality benchmark (issues 14, 24): `npm run bench -- audit [--train 10000] [--per-set 10] [--first 0] [--neighbours K] [--content-neighbours K] [--no-content-crops] [--no-search-best-aligned] [--content-features K] [--inverted] [--sections 1,2,3]`
 *
 *  1. Likely label errors: Fashion-MNIST, 10,000 training images with 5% of the labels flipped to
 *     another class at random (seeded), MobileNet v1 0.25 pooled features (the engine's scenario-1
 *     path and feature cache), 5-fold out-of-sample head probabilities, confident learning:
 *     precision and recall of the flagged set against the flipped images, precision among the top
 *     N flagged (N = number flipped). Targets: precision at N >= 0.6, recall >= 0.6.
 *  2. Near-duplicates: altered copies of test images planted in the test split, `--per-set` of
 *     each set of alterations (each a different test image): the four of issue 14 (resized, JPEG,
 *     brightened, shifted 5 pixels), and the copies in the wild of issue 24 (upscaled, downscaled,
 *     brightness and contrast, recompressed, cropped 10%, padded, mirrored) alone and in every
 *     combination of two and three. The share found with their original per set (targets: >= 95%
 *     for every single alteration and every combination of three), and the false clusters among
 *     the untouched images (issue 24's baseline: 85 clusters, 321 images). The candidate stage
 *     (which copies are ever searched; the content descriptors' nearest by how many are kept), the
 *     alignment search's rule with and without its second look (edges of a doubtful alignment), and
 *     the curves of the edge threshold, the floor, standing out (a gap or a ratio), the interiors (and the
 *     far interiors, lower ones standing out further, and the interiors alone) and the plain check.
 *  3. UMAP (after PCA to 50) of 10,000 points: time. Label next: quick retrain time.
 * Numbers only; the machine's load distorts the times.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { MODELS, arg } from './common';
import { FASHION_CLASSES, fashionPngs } from './fashion-mnist';
import { trainConfigSchema } from '../src/shared/domain';
import { confidentLearning } from '../src/main/audit/confident-learning';
import { CONTENT_FEATURE_MIN_COSINE, CONTENT_FEATURE_NEIGHBOURS, CONTENT_MIN_SIMILARITY, CONTENT_NEIGHBOURS, DESCRIPTOR_FLOOR_RATIO, DOUBTFUL_FLOOR, EDGES_MIN, FAR_RATIO, FLOOR, FLOOR_EDGES, FLOOR_INTERIOR_MIN, FLOOR_RATIO, FINDER_RULE, INTERIOR_ALONE_FROM, INTERIOR_ALONE_MIN, INTERIOR_ALONE_RATIO, INTERIOR_FAR_MIN, INTERIOR_FAR_RATIO, INTERIOR_FROM, INTERIOR_MIN, INTERIOR_PLAUSIBLE_MIN, INTERIOR_RATIO, INTERIOR_STANDING, PLAIN_GAP, PLAIN_SURE, Rivals, TRANSFORMED_MIN, TRANSFORMED_RATIO, TRANSFORMED_SURE, clusterPairs, confirmAlignments, decideAlignments, findNearDuplicates, type CandidateScore, type DuplicatePair, type NearDuplicateCluster } from '../src/main/audit/near-duplicates';
import { DUPLICATE_THRESHOLDS } from '../src/shared/domain';
import { contentDescriptors } from '../src/main/audit/content-box';
import { contentNeighbours } from '../src/main/audit/content-neighbours';
import { labelNext } from '../src/main/audit/label-next';
import { imageFingerprint } from '../src/main/media/perceptual-hash';
import { initBackend } from '../src/main/engine/backend';
import { seededRandom, shuffled } from '../src/shared/random';
import { outOfSampleProbabilities, retrainAndPredict } from '../src/main/engine/out-of-sample';
import { FOLD_TRAINING, QUICK_RETRAIN, retrainConfig } from '../src/main/audit/feature-source';
import { featureNeighbours } from '../src/main/engine/feature-neighbours';
import { neighbours } from '../src/main/engine/audit-methods';
import { embeddingMap, layoutEpochs } from '../src/main/engine/embedding-map';
import { ALTERATIONS, WILD_ALTERATIONS, alteredCopy, combinations, type Alteration } from '../test/fixtures/altered-copies';
import { featuresOf } from '../test/fixtures/features';

const TRAIN = Number(arg('--train') ?? 10000);
const PER_SET = Number(arg('--per-set') ?? 10);
/** The first test image copied: another value plants the same alterations on other pictures (a check that a rule is not tuned to one set). */
const FIRST = Number(arg('--first') ?? 0);
/** Every picture's grey levels reversed (dark garments on white): a check that the finder does not hold only for a subject on a dark background. */
const INVERTED = process.argv.includes('--inverted');
const SECTIONS = new Set((arg('--sections') ?? '1,2,3').split(','));
/** How many nearest feature neighbours of each image get the alignment search (the audit's default unless given). */
const ALIGN_NEIGHBOURS = arg('--neighbours') === undefined ? undefined : Number(arg('--neighbours'));
/** How many nearest by content descriptor of each image get the alignment search (the audit's default unless given). */
const CONTENT_NEAREST = arg('--content-neighbours') === undefined ? undefined : Number(arg('--content-neighbours'));
/** Without the finder's searchBestAligned (on by default): each image's best plain match among its candidates is searched only when it is a near pair anyway. */
const NO_SEARCH_BEST_ALIGNED = process.argv.includes('--no-search-best-aligned');
/** Each image's nearest by content features searched too (the audit's CONTENT_FEATURE_NEIGHBOURS; 0: none, as before they were). */
const CONTENT_FEATURE_K = Number(arg('--content-features') ?? CONTENT_FEATURE_NEIGHBOURS);
/** The content descriptors' neighbours without their crop hypotheses (content-neighbours.ts SHORTLIST). */
const NO_CONTENT_CROPS = process.argv.includes('--no-content-crops');
/** The sets of alterations planted, each PER_SET times. */
const SETS: Alteration[][] = [...ALTERATIONS.map((a) => [a]), ...[1, 2, 3].flatMap((n) => combinations(WILD_ALTERATIONS, n))];
const COPIES = SETS.length * PER_SET;
const FLIP_SHARE = 0.05;
const SEED = 42;
const MODEL = path.join(MODELS, 'mobilenet_v1_0.25_224');
const tmp = path.join(os.tmpdir(), 'ts-bench-audit');
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const log = (s: string) => process.stdout.write(`${s}\n`);

const backend = await initBackend();
log(`audit bench: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, backend ${backend.name} x${backend.threads}`);
const data = await fashionPngs(path.join(os.tmpdir(), INVERTED ? 'ts-bench-fashion-png-inverted' : 'ts-bench-fashion-png'), TRAIN, Math.max(FIRST + COPIES, 2000), INVERTED);
const k = FASHION_CLASSES.length;

// Altered copies of COPIES test images from FIRST, PER_SET of each set of alterations.
const copyDir = path.join(tmp, `${FIRST === 0 ? 'copies' : `copies-${FIRST}`}${INVERTED ? '-inverted' : ''}`);
fs.mkdirSync(copyDir, { recursive: true });
const copies: { path: string; hash: string; of: number; set: string }[] = [];
for (let i = 0; i < COPIES; i++) {
  const kinds = SETS[Math.floor(i / PER_SET)]!;
  const last = kinds[kinds.length - 1];
  const file = path.join(copyDir, `${i}-${kinds.join('+')}.${last === 'jpeg' || last === 'recompressed' ? 'jpg' : 'png'}`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, await alteredCopy(data.test[FIRST + i]!.path, kinds));
  copies.push({ path: file, hash: createHash('sha256').update(fs.readFileSync(file)).digest('hex'), of: i, set: kinds.join('+') });
}
const originals = data.test.slice(FIRST, FIRST + COPIES);
const images = [...data.train, ...originals, ...copies];

let t0 = performance.now();
const { dim, rows } = await featuresOf(MODEL, images, path.join(tmp, 'cache'));
log(`features: ${images.length} images x ${dim} in ${seconds(t0).toFixed(1)} s (cached after the first run)`);

// ---- 1. label errors
const trainX = rows.subarray(0, TRAIN * dim);
const truth = Int32Array.from(data.train, (d) => d.label);
// A run's settings, turned into the audit job's fold training and label next's quick retrain as the jobs do.
const config = trainConfigSchema.parse({ scenario: 1, model: 'mobilenet_v1_0.25_224', epochs: 30, patience: 4, batchSize: 64, head: { hidden: [256], dropout: 0.3, activation: 'relu' }, seed: SEED });
if (SECTIONS.has('1')) {
  const given = Int32Array.from(truth);
  const random = seededRandom(SEED);
  const flipped = new Set(Array.from(shuffled(TRAIN, random).subarray(0, Math.round(TRAIN * FLIP_SHARE))));
  for (const i of flipped) given[i] = ((truth[i] as number) + 1 + Math.floor(random() * (k - 1))) % k;
  const foldConfig = retrainConfig(config, { images: Math.ceil((TRAIN * 4) / 5), ...FOLD_TRAINING, patience: Math.max(FOLD_TRAINING.minPatience, config.patience) });
  t0 = performance.now();
  const oos = await outOfSampleProbabilities({ features: trainX, dim, labels: given, numClasses: k, config: foldConfig, folds: 5 });
  const kfoldS = seconds(t0);
  t0 = performance.now();
  const cl = confidentLearning({ probabilities: oos.probabilities, labels: given, numClasses: k });
  const clMs = performance.now() - t0;
  const flaggedTrue = cl.issues.filter((i) => flipped.has(i.index)).length;
  const n = flipped.size;
  const topN = cl.issues.slice(0, n).filter((i) => flipped.has(i.index)).length;
  const oosAcc = Array.from(given).filter((_, i) => {
    const row = oos.probabilities.subarray(i * k, (i + 1) * k);
    return row.indexOf(Math.max(...row)) === truth[i];
  }).length / TRAIN;
  log(`\n1. Likely label errors: ${TRAIN} training images, ${n} labels flipped (seed ${SEED}), 5-fold out-of-sample head probabilities (batch ${foldConfig.batchSize}, up to ${foldConfig.epochs} epochs: ${kfoldS.toFixed(1)} s; accuracy against the true labels ${oosAcc.toFixed(3)}), confident learning ${clMs.toFixed(0)} ms`);
  log(`| flagged | of them flipped | precision | recall | precision at N=${n} (top ${Math.min(n, cl.issues.length)}) |`);
  log(`|---|---|---|---|---|`);
  log(`| ${cl.issues.length} | ${flaggedTrue} | ${(flaggedTrue / Math.max(1, cl.issues.length)).toFixed(3)} | ${(flaggedTrue / n).toFixed(3)} | ${(topN / n).toFixed(3)} |`);
  const trueRate = FASHION_CLASSES.map((_, c) => {
    const members = Array.from(given).map((g, i) => [g, i] as const).filter(([g]) => g === c);
    return members.filter(([, i]) => flipped.has(i)).length / Math.max(1, members.length);
  });
  log(`noise rate per given class, estimated (true): ${cl.noiseRates.map((r, c) => `${FASHION_CLASSES[c]} ${(r ?? NaN).toFixed(3)} (${(trueRate[c] as number).toFixed(3)})`).join(', ')}`);
}

// ---- 2. near-duplicates
if (SECTIONS.has('2')) {
  t0 = performance.now();
  const fps: Awaited<ReturnType<typeof imageFingerprint>>[] = [];
  for (let s = 0; s < images.length; s += 64) fps.push(...(await Promise.all(images.slice(s, s + 64).map((im) => imageFingerprint(im.path)))));
  const fpS = seconds(t0);
  t0 = performance.now();
  const nb = await featureNeighbours({ features: rows, dim });
  const nbS = seconds(t0);
  // Content features through the engine's own method (its cache beside the frame's features).
  t0 = performance.now();
  const contentNb = CONTENT_FEATURE_K > 0
    ? await neighbours({ source: { modelDir: MODEL, modelId: path.basename(MODEL), cacheDir: path.join(tmp, 'cache'), items: images.map((im) => ({ hash: im.hash, path: im.path })) }, k: CONTENT_FEATURE_K, minCosine: CONTENT_FEATURE_MIN_COSINE, content: true }, new AbortController().signal, () => undefined)
    : { pairs: [] };
  const contentS = seconds(t0);
  t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const splits = images.map((_, i) => (i >= TRAIN ? 'test' : 'train'));
  // Every candidate's scores, the mirror and zoom search accepting nothing and the plain check every
  // aligned pair: their rules are applied (and swept) below.
  const scores: CandidateScore[] = [];
  const nd = await findNearDuplicates({ hashes: fps.map((f) => f.phash), thumbs: fps.map((f) => f.thumb), featurePairs: nb.pairs, contentFeaturePairs: contentNb.pairs, splits, options: { minTransformed: 2, minEdges: 2, noFloor: true, plainSure: 0, ...(NO_SEARCH_BEST_ALIGNED ? { searchBestAligned: false } : {}), onScore: (sc) => scores.push(sc), ...(ALIGN_NEIGHBOURS !== undefined ? { transformNeighbours: ALIGN_NEIGHBOURS } : {}), ...(CONTENT_NEAREST !== undefined ? { contentNeighbours: CONTENT_NEAREST } : {}), ...(NO_CONTENT_CROPS ? { contentCrops: false } : {}) } });
  const ndS = seconds(t0);
  const ndCpu = process.cpuUsage(cpu0);
  if (!nd) throw new Error('not cancelled');
  if (process.env['BENCH_SCORES']) fs.writeFileSync(process.env['BENCH_SCORES'], JSON.stringify({ TRAIN, COPIES, of: copies.map((c) => c.of), sets: copies.map((c) => c.set), pairs: nd.pairs, scores }));
  // The plain check's rule (sure, or standing out among every candidate's plain alignment), as the finder decides it.
  // `rule`: standing out by a ratio or a gap; `smoothed`: by the smoothed correlations (the finder's) or the pixel scores.
  const plainAt = (sure: number, rule: { ratio: number } | { gap: number }, smoothed = true): DuplicatePair[] => {
    const rivals = new Rivals(sure);
    for (const sc of scores) rivals.add(sc.a, sc.b, (smoothed ? sc.alignedSmoothed : null) ?? sc.aligned, sc.aligned >= sure);
    for (const sc of scores) if ((sc.transformed ?? -1) >= TRANSFORMED_SURE) rivals.add(sc.a, sc.b, sure);
    const plain = nd.pairs.filter((p) => p.match === 'aligned').map(({ smoothed: s, ...p }) => (smoothed && s !== undefined ? { ...p, smoothed: s } : p));
    return [...nd.pairs.filter((p) => p.match !== 'aligned'), ...confirmAlignments(plain, { min: DUPLICATE_THRESHOLDS.aligned, sure, ...rule, twins: true }, rivals)];
  };
  const base = plainAt(PLAIN_SURE, { gap: PLAIN_GAP });
  // Untouched = the training images and the test originals; a cluster is false when it joins two of them.
  const origin = (i: number) => (i >= TRAIN + COPIES ? TRAIN + (copies[i - TRAIN - COPIES]!.of as number) : i);
  const evaluate = (clusters: NearDuplicateCluster[]) => {
    const clusterOf = new Int32Array(images.length).fill(-1);
    clusters.forEach((c, ci) => c.members.forEach((m) => (clusterOf[m] = ci)));
    const isFound = (j: number) => clusterOf[TRAIN + COPIES + j]! >= 0 && clusterOf[TRAIN + COPIES + j] === clusterOf[TRAIN + copies[j]!.of];
    const found = SETS.map((kinds) => {
      const set = kinds.join('+');
      const mine = copies.map((c, j) => ({ c, j })).filter(({ c }) => c.set === set);
      return { set, size: kinds.length, wild: !(ALTERATIONS as readonly string[]).includes(kinds[0]!), total: mine.length, found: mine.filter(({ j }) => isFound(j)).length };
    });
    const falseClusters = clusters.filter((c) => new Set(c.members.map(origin)).size > 1);
    const falseImages = new Set(falseClusters.flatMap((c) => c.members.filter((m) => m < TRAIN + COPIES)));
    return { found, falseClusters: falseClusters.length, falseImages: falseImages.size, leaks: clusters.filter((c) => c.leak).length, clusters: clusters.length };
  };
  const share = (f: { found: number; total: number }) => `${f.found}/${f.total}`;
  const atTarget = (fs: { found: number; total: number }[]) => `${fs.filter((f) => f.found >= 0.95 * f.total).length}/${fs.length}`;
  const sum = (fs: { found: number; total: number }[]) => `${fs.reduce((a, f) => a + f.found, 0)}/${fs.reduce((a, f) => a + f.total, 0)}`;
  const group = (r: ReturnType<typeof evaluate>, size: number) => r.found.filter((f) => f.wild && f.size === size);
  log(`\n2. Near-duplicates: ${COPIES} altered copies (${PER_SET} per set of alterations, ${SETS.length} sets) of test images, in the test split beside their originals and ${TRAIN} training images`);
  log(`fingerprints (pHash + thumbnail, sharp) ${fpS.toFixed(1)} s (${((fpS * 1000) / images.length).toFixed(2)} ms/image); feature neighbours (k 20, blocked matMul) ${nbS.toFixed(1)} s, ${nb.pairs.length} pairs; content features (the content box as it is and mirrored, extracted and cached on the first run) and their ${CONTENT_FEATURE_K} nearest ${contentS.toFixed(1)} s, ${contentNb.pairs.length} pairs; candidates + pixel check (every score) + clusters ${ndS.toFixed(1)} s; ${scores.filter((sc) => sc.transformed !== null).length} pairs got the alignment search`);
  // The candidate stage alone: was the copy's pair with its original checked at all, and did it get the alignment search?
  const checked = new Map(scores.map((sc) => [sc.a * images.length + sc.b, sc] as const));
  const candidateOf = (j: number) => checked.get(Math.min(TRAIN + copies[j]!.of, TRAIN + COPIES + j) * images.length + Math.max(TRAIN + copies[j]!.of, TRAIN + COPIES + j));
  const stage = (size: number, wild: boolean) => {
    const mine = copies.map((c, j) => ({ c, j })).filter(({ c }) => c.set.split('+').length === size && wild !== (ALTERATIONS as readonly string[]).includes(c.set));
    return `${mine.filter(({ j }) => candidateOf(j)).length}/${mine.filter(({ j }) => candidateOf(j)?.transformed != null || (candidateOf(j)?.aligned ?? -1) >= 0.98).length}/${mine.length}`;
  };
  const alignedPairs = scores.filter((sc) => sc.transformed !== null).length;
  log(`candidate stage (checked / checked and aligned at 0.98 or searched / copies): issue-14 singles ${stage(1, false)}, wild singles ${stage(1, true)}, pairs ${stage(2, true)}, triples ${stage(3, true)}; ${scores.length} candidates checked, ${alignedPairs} searched; pixel check ${((ndCpu.user + ndCpu.system) / 1000).toFixed(0)} CPU ms, ${((ndCpu.user + ndCpu.system) / 1000 / Math.max(1, alignedPairs)).toFixed(2)} CPU ms per searched pair`);
  // The content descriptors' neighbours alone (content-neighbours.ts), by how many each image keeps: the pairs they add, and the copies among them.
  const described = fps.map((f) => contentDescriptors(f.thumb));
  const descriptors = described.map((d) => d.descriptor);
  const byK: string[] = [];
  for (const kk of [...new Set([1, 2, 3, 4, 5, CONTENT_NEAREST ?? CONTENT_NEIGHBOURS])].sort((x, y) => x - y)) {
    for (const crops of [false, true]) {
      const t1 = performance.now();
      const near = new Set((await contentNeighbours(descriptors, kk, CONTENT_MIN_SIMILARITY, crops ? { crops: described.map((d) => d.crops) } : {}))!.map((p) => p.a * images.length + p.b));
      const ms = performance.now() - t1;
      const among = (size: number) => copies.filter((c, j) => c.set.split('+').length === size && !(ALTERATIONS as readonly string[]).includes(c.set) && near.has((TRAIN + c.of) * images.length + TRAIN + COPIES + j)).length;
      byK.push(`${kk}${crops ? ' with crops' : ''}: ${near.size} pairs (${(ms / 1000).toFixed(1)} s), ${among(1)} / ${among(2)} / ${among(3)}`);
    }
  }
  log(`content descriptors' nearest alone (how many kept: pairs, wild singles / pairs / triples among them; the finder keeps ${CONTENT_NEAREST ?? CONTENT_NEIGHBOURS} from ${CONTENT_MIN_SIMILARITY}${NO_CONTENT_CROPS ? '' : ' with crops'}): ${byK.join('; ')}`);
  // Pairs only the content descriptors found: below the threshold they must stand out further, as the finder decides them.
  const onlyDescriptors = new Set(scores.filter((sc) => sc.descriptorOnly).map((sc) => sc.a * images.length + sc.b));
  const descriptorOnly = (p: DuplicatePair) => onlyDescriptors.has(p.a * images.length + p.b);
  const searched: DuplicatePair[] = scores.filter((sc) => sc.transformed !== null && !sc.plain).map((sc) => ({ a: sc.a, b: sc.b, cosine: sc.cosine, hamming: 0, pixel: sc.transformed as number, match: sc.mirrored ? ('mirrored' as const) : ('rescaled' as const), edges: sc.edges, ...(sc.smoothed === null ? {} : { smoothed: sc.smoothed }), ...(sc.interior === null ? {} : { interior: sc.interior }) }));
  const rowsOf = new Map<string, ReturnType<typeof evaluate>>();
  for (const rule of ['plain', 'gap', 'edges'] as const) {
    log(
      rule === 'plain'
        ? `\nThe alignment search's threshold, every pair at or above it a copy (off: the plain check alone, from ${DUPLICATE_THRESHOLDS.aligned}: ${PLAIN_SURE} or standing ${PLAIN_GAP} above); between each image and its ${ALIGN_NEIGHBOURS ?? 'default number of'} nearest feature neighbours:`
        : rule === 'gap'
          ? `\nThe same threshold as the least a pair needs, a copy from ${TRANSFORMED_SURE} or when either image's next best alignment leaves ${TRANSFORMED_RATIO} times as much unexplained (1 - score) (the rule before the second look):`
          : `\nThe same, and a doubtful alignment (${DOUBTFUL_FLOOR} up to ${TRANSFORMED_SURE}) whose edges correlate at ${EDGES_MIN} or more (the finder's rule):`,
    );
    log(`| threshold | issue-14 singles | wild singles at >= 95% | pairs at >= 95% | triples at >= 95% | found (wild singles / pairs / triples) | clusters | false clusters (images) |`);
    log(`|---|---|---|---|---|---|---|---|`);
    for (const t of [Infinity, 0.999, 0.995, 0.993, 0.99, 0.988, 0.985, 0.983, 0.98, 0.975, 0.97, 0.96]) {
      if (rule !== 'plain' && (t === Infinity || t >= TRANSFORMED_SURE)) continue;
      const extra = decideAlignments(searched, descriptorOnly, rule === 'plain' ? { min: t, sure: t, gap: Infinity } : { min: t, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, ...(rule === 'edges' ? { edges: EDGES_MIN } : {}) });
      const r = evaluate(clusterPairs(images.length, [...base, ...extra], splits));
      rowsOf.set(`${rule} ${t}`, r);
      const old = r.found.filter((f) => !f.wild);
      log(`| ${t === Infinity ? 'off' : t} | ${sum(old)} | ${atTarget(group(r, 1))} | ${atTarget(group(r, 2))} | ${atTarget(group(r, 3))} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${r.clusters} | ${r.falseClusters} (${r.falseImages}) |`);
    }
  }
  const singles = rowsOf.get('plain Infinity')!.found.filter((f) => f.wild && f.size === 1).map((f) => f.set);
  log(`\nPer single alteration, copies found by threshold:`);
  log(`| threshold | ${singles.join(' | ')} |`);
  log(`|---|${singles.map(() => '---|').join('')}`);
  for (const [t, r] of rowsOf) log(`| ${t.replace('Infinity', 'off')} | ${singles.map((set) => share(r.found.find((f) => f.set === set)!)).join(' | ')} |`);
  // The second look's curve: the finder's rule with other edge thresholds.
  log(`\nThe edge threshold at the operating point (from ${TRANSFORMED_MIN}; ${TRANSFORMED_SURE}, or standing out by the ratio ${TRANSFORMED_RATIO}, or a doubtful alignment's edges at or above it):`);
  log(`| edges | found (wild singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|`);
  for (const e of [Infinity, 0.99, 0.985, 0.98, 0.975, 0.97, 0.965, 0.96, 0.95]) {
    const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, { min: TRANSFORMED_MIN, sure: TRANSFORMED_SURE, ratio: TRANSFORMED_RATIO, edges: e })], splits));
    log(`| ${e === Infinity ? 'off' : e} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  // The floor's curve: below TRANSFORMED_MIN, edges from floorEdges and standing out by the gap plus the shortfall.
  const finder = FINDER_RULE;
  // The finder's rule without its standing out above the floor (the standing-out curve's), and without its interior (the interior curve's "off").
  const { ratio: _ratio, pixelsToo: _pixelsToo, ...finderNotStanding } = finder;
  const { interiorFrom: _from, interiorStanding: _standing, interiorMin: _min, interiorRatio: _interiorRatio, interiorFarMin: _farMin, interiorFarRatio: _farRatio, interiorAloneFrom: _aloneFrom, interiorAloneMin: _aloneMin, interiorAloneRatio: _aloneRatio, interiorPlausibleMin: _plausibleMin, ...finderNoInterior } = finder;
  const { interiorFarMin: _far, interiorFarRatio: _farBy, ...finderNoFarInterior } = finder;
  const { interiorAloneFrom: _alone, interiorAloneMin: _aloneAt, interiorAloneRatio: _aloneBy, ...finderNoInteriorAlone } = finder;
  const { interiorPlausibleMin: _plausibleAt, ...finderNoInteriorPlausible } = finder;
  // As the finder: the search's rivals, the plain check's sure copies none.
  const searchRivalsOf = (pairs: readonly DuplicatePair[], plausibleFrom?: number): Rivals => {
    const r = Rivals.among(pairs, TRANSFORMED_SURE, plausibleFrom);
    for (const p of base) if (p.match === 'aligned' && p.pixel >= PLAIN_SURE) r.add(p.a, p.b, TRANSFORMED_SURE);
    return r;
  };
  const searchRivals = searchRivalsOf(searched);
  log(`\nBelow ${TRANSFORMED_MIN} down to the floor, a copy when its edges reach the floor's edge threshold and it stands out by ${FLOOR_RATIO}, or it stands out by ${FAR_RATIO} (with the finder's rule above):`);
  log(`| floor | floor's edges | issue-14 singles | found (wild singles / pairs / triples) | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|---|`);
  for (const floor of [...new Set([DOUBTFUL_FLOOR, 0.96, 0.97, 0.975, FLOOR])].sort((x, y) => x - y)) {
    for (const fe of [Infinity, 0.97, 0.95, 0.93, 0.9, 0.85, 0.8]) {
      const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, { ...finder, floor, floorEdges: fe }, searchRivals)], splits));
      log(`| ${floor} | ${fe === Infinity ? 'off' : fe} | ${sum(r.found.filter((f) => !f.wild))} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
    }
  }
  // The floor's ratio: how far a pair must stand out below TRANSFORMED_MIN.
  log(`\nBelow ${TRANSFORMED_MIN} down to ${FLOOR} (edges from ${FLOOR_EDGES}): standing out by the floor's ratio (the rest as the finder):`);
  log(`| floor's ratio | issue-14 singles | found (wild singles / pairs / triples) | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|`);
  for (const floorRatio of [...new Set([TRANSFORMED_RATIO, 3, FLOOR_RATIO, 3.5, 4])].sort((x, y) => x - y)) {
    const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, { ...finder, floorRatio }, searchRivals)], splits));
    log(`| ${floorRatio}${floorRatio === FLOOR_RATIO ? ' *' : ''} | ${sum(r.found.filter((f) => !f.wild))} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  // The descriptor pairs' floor: how far a pair only the content descriptors found must stand out below TRANSFORMED_MIN.
  log(`\nPairs only the content descriptors found, below ${TRANSFORMED_MIN} down to ${FLOOR} (edges from ${FLOOR_EDGES}): standing out by the ratio (the rest as the finder):`);
  log(`| ratio | found (wild singles / pairs / triples) | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|`);
  for (const ratio of [...new Set([Infinity, TRANSFORMED_RATIO, 4, 5, DESCRIPTOR_FLOOR_RATIO, 6])]) {
    const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, { ...finder, descriptorFloorRatio: ratio }, searchRivals)], splits));
    log(`| ${ratio === Infinity ? 'off' : ratio} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  // The far ratio's curve: from the floor, standing out this far whatever the edges.
  log(`\nFrom ${FLOOR} up to ${TRANSFORMED_MIN}, a copy whatever its edges when it stands out by the far ratio (the rest as the finder):`);
  log(`| far ratio | issue-14 singles | found (wild singles / pairs / triples) | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|`);
  for (const farRatio of [...new Set([Infinity, 4, 5, 6, 8, 10, 14, 16, 20, FAR_RATIO])].sort((x, y) => x - y)) {
    const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, { ...finder, farRatio }, searchRivals)], splits));
    log(`| ${farRatio === Infinity ? 'off' : farRatio}${farRatio === FAR_RATIO ? ' *' : ''} | ${sum(r.found.filter((f) => !f.wild))} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  // The floor's interior minimum: below TRANSFORMED_MIN, a pair whose interiors were measured under it is not the floor's.
  log(`\nBelow ${TRANSFORMED_MIN} down to ${FLOOR}, the floor keeps a pair whose interiors were measured only from this minimum (the rest as the finder):`);
  log(`| interiors from | issue-14 singles | found (wild singles / pairs / triples) | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|`);
  for (const floorInteriorMin of [...new Set([-Infinity, 0.75, 0.8, 0.82, FLOOR_INTERIOR_MIN, 0.85, 0.86, 0.88, 0.9])].sort((x, y) => x - y)) {
    const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, { ...finder, floorInteriorMin }, searchRivals)], splits));
    log(`| ${floorInteriorMin === -Infinity ? 'off' : floorInteriorMin}${floorInteriorMin === FLOOR_INTERIOR_MIN ? ' *' : ''} | ${sum(r.found.filter((f) => !f.wild))} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  // The standing-out rule's curve: a fixed gap (the rule before the ratio) or other ratios, by the smoothed correlation (the finder's) or the pixel score; the rest as the finder.
  log(`\nStanding out (the alignment search, from ${FLOOR}): a fixed gap above either image's next best alignment (plus the shortfall under ${TRANSFORMED_MIN}), or its 1 - score at least the ratio times the pair's; by the smoothed scores (ncc.ts smoothedNcc), the pixel scores, or either (the finder's):`);
  log(`| by | rule | found (wild singles / pairs / triples) | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|`);
  for (const by of ['either', 'smoothed', 'pixel'] as const) {
    const pairsBy = by === 'pixel' ? searched.map(({ smoothed: _smoothed, ...p }) => p) : searched;
    const rivalsBy = searchRivalsOf(pairsBy);
    for (const rule of [{ gap: 0.02 }, { ratio: 2 }, { ratio: 2.5 }, { ratio: 3 }, { ratio: 3.5 }, { ratio: 4 }]) {
      const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(pairsBy, descriptorOnly, { ...finderNotStanding, pixelsToo: by === 'either', ...rule }, rivalsBy)], splits));
      log(`| ${by} | ${'gap' in rule ? `gap ${rule.gap}` : `ratio ${rule.ratio}${rule.ratio === TRANSFORMED_RATIO && by === 'either' ? ' *' : ''}`} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
    }
  }
  // The interior's curve: a pair standing out by the correlation of its foregrounds (ncc.ts interiorNcc).
  log(`\nBy the interiors (ncc.ts interiorNcc): from a level (smoothed), standing out smoothed by a ratio from either image's next best, the interiors from a minimum and standing out by the ratio (the rest as the finder):`);
  log(`| from | standing | minimum | ratio | found (wild singles / pairs / triples) | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|---|---|`);
  const interiorRules = [
    null,
    ...[...new Set([0.98, INTERIOR_FROM])].flatMap((from) => [1, 1.2].flatMap((standing) => [...new Set([0.85, 0.9, 0.92, INTERIOR_MIN])].flatMap((min) => [1.5, 2, 2.5, 3].map((ratio) => ({ interiorFrom: from, interiorStanding: standing, interiorMin: min, interiorRatio: ratio }))))),
  ];
  for (const rule of interiorRules) {
    const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, rule ? { ...finder, ...rule } : finderNoInterior, searchRivals)], splits));
    const star = rule && rule.interiorFrom === INTERIOR_FROM && rule.interiorStanding === INTERIOR_STANDING && rule.interiorMin === INTERIOR_MIN && rule.interiorRatio === INTERIOR_RATIO ? ' *' : '';
    log(`| ${rule ? `${rule.interiorFrom} | ${rule.interiorStanding} | ${rule.interiorMin} | ${rule.interiorRatio}${star}` : 'off | | | '} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  // The far interiors' curve: below the interior rule's minimum, interiors standing out further.
  log(`\nBelow the interiors' minimum (${INTERIOR_MIN}), interiors from a lower one standing out by a higher ratio (the rest as the finder):`);
  log(`| minimum | ratio | found (wild singles / pairs / triples) | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|`);
  const farRules = [null, ...[...new Set([0.8, 0.85, 0.88, 0.9, INTERIOR_FAR_MIN])].flatMap((min) => [...new Set([2.5, 3, 3.5, 4, INTERIOR_FAR_RATIO])].map((ratio) => ({ interiorFarMin: min, interiorFarRatio: ratio })))];
  for (const rule of farRules) {
    const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, rule ? { ...finder, ...rule } : finderNoFarInterior, searchRivals)], splits));
    const star = rule && rule.interiorFarMin === INTERIOR_FAR_MIN && rule.interiorFarRatio === INTERIOR_FAR_RATIO ? ' *' : '';
    log(`| ${rule ? `${rule.interiorFarMin} | ${rule.interiorFarRatio}${star}` : 'off | '} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  // The interior alone's curve: from a lower level, the interiors standing out whatever the outline's standing.
  log(`\nBy the interiors alone: from a level (smoothed), the interiors from a minimum standing out by a ratio, the outline not necessarily either image's best match (the rest as the finder):`);
  log(`| from | minimum | ratio | found (wild singles / pairs / triples) | issue-14 singles | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|---|---|`);
  const aloneRules = [null, ...[...new Set([0.7, 0.8, 0.9, INTERIOR_ALONE_FROM])].flatMap((from) => [...new Set([0.92, 0.95, 0.97, INTERIOR_ALONE_MIN])].flatMap((min) => [...new Set([3, 4, 6, INTERIOR_ALONE_RATIO])].map((ratio) => ({ interiorAloneFrom: from, interiorAloneMin: min, interiorAloneRatio: ratio }))))];
  for (const rule of aloneRules) {
    const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, rule ? { ...finder, ...rule } : finderNoInteriorAlone, searchRivals)], splits));
    const star = rule && rule.interiorAloneFrom === INTERIOR_ALONE_FROM && rule.interiorAloneMin === INTERIOR_ALONE_MIN && rule.interiorAloneRatio === INTERIOR_ALONE_RATIO ? ' *' : '';
    log(`| ${rule ? `${rule.interiorAloneFrom} | ${rule.interiorAloneMin} | ${rule.interiorAloneRatio}${star}` : 'off | | '} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${sum(r.found.filter((f) => !f.wild))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  // The interior rule among plausible rivals: from a minimum of the interiors, the outline each image's best match only among rivals whose interiors do not rule them out.
  log(`\nThe interior rule, from a minimum of the interiors, asks the outline to be the best match only among the rivals that could be copies (their interiors unmeasured or from a level; the rest as the finder):`);
  log(`| rivals from | interiors from | found (wild singles / pairs / triples) | issue-14 singles | at >= 95% (singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|---|`);
  const plausibleRules = [null, ...[...new Set([0.8, FLOOR_INTERIOR_MIN, 0.9])].flatMap((from) => [...new Set([INTERIOR_MIN, 0.93, 0.97, INTERIOR_PLAUSIBLE_MIN])].map((min) => ({ from, min })))];
  for (const rule of plausibleRules) {
    const t = rule ? { ...finder, interiorPlausibleMin: rule.min } : finderNoInteriorPlausible;
    const r = evaluate(clusterPairs(images.length, [...base, ...decideAlignments(searched, descriptorOnly, t, rule ? searchRivalsOf(searched, rule.from) : searchRivals)], splits));
    const star = rule && rule.from === FLOOR_INTERIOR_MIN && rule.min === INTERIOR_PLAUSIBLE_MIN ? ' *' : '';
    log(`| ${rule ? `${rule.from} | ${rule.min}${star}` : 'off | '} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${sum(r.found.filter((f) => !f.wild))} | ${atTarget(group(r, 1))} / ${atTarget(group(r, 2))} / ${atTarget(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  // The plain check's curve, with the finder's alignment rule.
  const opExtra = decideAlignments(searched, descriptorOnly, finder, searchRivals);
  log(`\nThe plain check (from ${DUPLICATE_THRESHOLDS.aligned}): a copy from its sure level, below it only standing out above either image's next best plain alignment among its candidates (sure pairs not counted), by smoothed correlations (the finder's) or pixel scores; with the finder's alignment rule:`);
  log(`| by | sure | standing out | issue-14 singles | found (wild singles / pairs / triples) | false clusters (images) |`);
  log(`|---|---|---|---|---|---|`);
  const plainRules: [boolean, number, { ratio: number } | { gap: number }][] = [
    [true, 0, { gap: 0 }],
    [false, 0.99, { gap: 0.005 }],
    [false, 0.99, { gap: 0.01 }],
    [false, 0.99, { ratio: 2.5 }],
    [true, 0.99, { gap: 0.01 }],
    [true, 0.99, { ratio: 2 }],
    [true, 0.99, { ratio: 2.5 }],
    [true, 0.99, { ratio: 3 }],
    [true, 0.995, { ratio: 2.5 }],
  ];
  for (const [smoothed, sure, rule] of plainRules) {
    const r = evaluate(clusterPairs(images.length, [...plainAt(sure, rule, smoothed), ...opExtra], splits));
    const star = smoothed && sure === PLAIN_SURE && 'gap' in rule && rule.gap === PLAIN_GAP ? ' *' : '';
    log(`| ${smoothed ? 'smoothed' : 'pixel'} | ${sure === 0 ? 'off' : sure} | ${sure === 0 ? '' : `${'ratio' in rule ? `ratio ${rule.ratio}` : `gap ${rule.gap}`}${star}`} | ${sum(r.found.filter((f) => !f.wild))} | ${sum(group(r, 1))} / ${sum(group(r, 2))} / ${sum(group(r, 3))} | ${r.falseClusters} (${r.falseImages}) |`);
  }
  const op = evaluate(clusterPairs(images.length, [...base, ...opExtra], splits));
  log(`\nAt the operating point (plain: ${PLAIN_SURE}, or standing ${PLAIN_GAP} above, smoothed; alignment search: from ${TRANSFORMED_MIN}, ${TRANSFORMED_SURE}, or standing out by the ratio ${TRANSFORMED_RATIO} (smoothed or in pixels), or edges from ${EDGES_MIN}, or from ${FLOOR} with edges from ${FLOOR_EDGES} and standing out by ${FLOOR_RATIO} (${DESCRIPTOR_FLOOR_RATIO} for a pair only the content descriptors found) or whatever its edges standing out by ${FAR_RATIO}, or from ${INTERIOR_FROM} smoothed standing out by ${INTERIOR_STANDING} with its interior from ${INTERIOR_MIN} standing out by ${INTERIOR_RATIO}, or from ${INTERIOR_FAR_MIN} by ${INTERIOR_FAR_RATIO}; or from ${INTERIOR_ALONE_FROM} smoothed with its interior from ${INTERIOR_ALONE_MIN} standing out by ${INTERIOR_ALONE_RATIO}): ${op.clusters} clusters, ${op.falseClusters} false (${op.falseImages} images); single alterations ${op.found.filter((f) => f.size === 1).map((f) => `${f.set} ${share(f)}`).join(', ')}`);
  for (const size of [2, 3]) {
    const sets = group(op, size).sort((a, b) => a.found / a.total - b.found / b.total);
    log(`combinations of ${size}: ${atTarget(sets)} at >= 95%, found ${sum(sets)}; worst: ${sets.slice(0, 8).map((f) => `${f.set} ${share(f)}`).join(', ')}`);
  }
}

// ---- 3. map and label next
if (SECTIONS.has('3')) {
  const mapN = Math.min(10000, TRAIN);
  t0 = performance.now();
  const cpu0 = process.cpuUsage().user;
  const phases: Record<string, number> = {};
  const map = await embeddingMap({ features: rows.subarray(0, mapN * dim), dim, seed: SEED, onProgress: (p) => (phases[p.phase] ??= seconds(t0)) });
  log(`\n3. Embedding map of ${mapN} points: PCA to ${map.pcaComponents} (${(100 * map.pcaExplained).toFixed(1)}% of the variance) then UMAP (${layoutEpochs(mapN)} layout epochs): ${seconds(t0).toFixed(1)} s, ${((process.cpuUsage().user - cpu0) / 1e6).toFixed(1)} CPU s (neighbour search from ${(phases['neighbours'] ?? 0).toFixed(1)} s, layout from ${(phases['layout'] ?? 0).toFixed(1)} s)`);
  const labelled = Math.min(2000, TRAIN / 2);
  t0 = performance.now();
  const pool = trainX.subarray(labelled * dim);
  const quick = retrainConfig(config, { images: labelled, ...QUICK_RETRAIN });
  const probs = await retrainAndPredict({ dim, numClasses: k, labelled: { x: trainX.subarray(0, labelled * dim), y: truth.subarray(0, labelled) }, predict: pool, config: quick });
  const retrainS = seconds(t0);
  t0 = performance.now();
  const queue = labelNext({ probabilities: probs as Float32Array, numClasses: k, features: pool, dim });
  let hits = 0;
  for (let i = 0; i < TRAIN - labelled; i++) {
    const row = (probs as Float32Array).subarray(i * k, (i + 1) * k);
    if (row.indexOf(Math.max(...row)) === truth[labelled + i]) hits++;
  }
  log(`Label next: quick retrain on ${labelled} labelled images (batch ${quick.batchSize}, up to ${quick.epochs} epochs, patience ${quick.patience}) and prediction of ${TRAIN - labelled} (accuracy ${(hits / (TRAIN - labelled)).toFixed(3)}): ${retrainS.toFixed(1)} s; ranking ${(performance.now() - t0).toFixed(0)} ms (top: image ${queue[0]?.index}, uncertainty ${queue[0]?.uncertainty.toFixed(2)})`);
}
log(`\nload after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
process.exit(0);
