/**
 * The advise request's work on the host side: the project's labelled images per class (from the
 * store), the engine's similarity estimate on them and the model's layers (for k), composed by
 * the advisor. The estimate is best effort: without a model or engine, or when it fails, the
 * advice says why and rests on the user's answer.
 */
import type { AdviceInfo, ModelInspection, SimilarityEstimateInfo } from '../../shared/domain';
import { labelledImageFiles } from '../store/image-files';
import type { ProjectStore } from '../store/project-store';
import type { Engine, SimilarityItem } from '../engine/protocol';
import { adviseProject, type Similarity } from './advisor';

export interface AdviseDeps {
  model: { id: string; dir: string } | null;
  engine: Engine | null;
}

/** Labelled train + validation images with their class index, and counts per class. */
function labelledImages(store: ProjectStore): { classNames: string[]; items: SimilarityItem[]; perClass: number[] } {
  const rows = labelledImageFiles(store.db, ['train', 'val']);
  const classNames: string[] = [];
  const index = new Map<string, number>();
  const items = rows.map((r) => {
    if (!index.has(r.className)) {
      index.set(r.className, classNames.length);
      classNames.push(r.className);
    }
    return { path: r.path, root: r.root, hash: r.hash, label: index.get(r.className) as number };
  });
  const perClass = classNames.map((_, c) => items.filter((i) => i.label === c).length);
  return { classNames, items, perClass };
}

export async function adviseForProject(store: ProjectStore, deps: AdviseDeps, answer: Similarity): Promise<AdviceInfo> {
  const { classNames, items, perClass } = labelledImages(store);
  let estimate: SimilarityEstimateInfo | null = null;
  let note: string | null = null;
  let inspection: ModelInspection | null = null;
  if (!deps.model) note = 'no model is installed to estimate it with';
  else if (!deps.engine) note = 'no training engine is running';
  else if (classNames.length < 2) note = 'it needs labelled images of at least two classes';
  if (deps.model && deps.engine) {
    try {
      inspection = await deps.engine.call('inspectModel', { modelDir: deps.model.dir });
    } catch (e) {
      note = `the model could not be read: ${(e as Error).message}`;
    }
    if (inspection && classNames.length >= 2) {
      try {
        estimate = await deps.engine.call('estimateSimilarity', { modelDir: deps.model.dir, modelId: deps.model.id, classNames, items, cacheDir: store.folder('cache') });
      } catch (e) {
        note = `the estimate failed: ${(e as Error).message}`;
      }
    }
  }
  return adviseProject({
    imagesPerClass: perClass,
    answer,
    estimate,
    estimateNote: note,
    model: deps.model?.id ?? null,
    ...(inspection ? { layers: inspection.layers, cutLayer: inspection.defaultCutLayer } : {}),
  });
}
