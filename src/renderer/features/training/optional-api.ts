/**
 * The wizard's model and advisor requests (all typed, in the contract), each read defensively:
 * a failure gives `null` and the wizard falls back to the user's answer and its own reasoning.
 */
import type { AdviceInfo, LayerInfoData, ModelInspectionInfo } from '../../../shared/domain';
import { api } from '../../api/client';

export type ModelLayer = LayerInfoData;
export type ModelInspection = Pick<ModelInspectionInfo, 'layers' | 'defaultCutLayer' | 'params' | 'name'>;
export interface ModelEntry {
  id: string;
  name: string;
  installed: boolean;
}

export type Advice = AdviceInfo;

/** Installed models (typed: the request is in the contract). */
export async function listModels(): Promise<ModelEntry[] | null> {
  try {
    return (await api.call('listModels', {})).map((m) => ({ id: m.id, name: m.name === m.id ? m.id : `${m.name} (${m.id})`, installed: true }));
  } catch {
    return null;
  }
}

/** A model's layers (typed: the request is in the contract); null when it cannot be read. */
export async function inspectModel(id: string): Promise<ModelInspection | null> {
  try {
    return await api.call('inspectModel', { id });
  } catch {
    return null;
  }
}

/** The advisor's scenario, k and similarity estimate with its evidence; null when it cannot answer. */
export async function advise(model?: string): Promise<Advice | null> {
  try {
    return await api.call('advise', model ? { model } : {});
  } catch {
    return null;
  }
}

/** The estimated similarity as 0..1 (the estimate's score), or null without an estimate. */
export function similarityValue(a: Advice | null): number | null {
  return a?.estimate?.score ?? null;
}
