/**
 * The wizard's model and advisor requests. listModels and inspectModel are in the contract;
 * `advise` is being added by the scenarios engineer: until it is, it is called by name through
 * the transport and read defensively (an unknown request or an unexpected shape gives `null`,
 * and the wizard falls back to the user's answer and its own estimate).
 */
import { z } from 'zod';
import type { LayerInfoData, ModelInspectionInfo } from '../../../shared/domain';
import { api, transport } from '../../api/client';

export type ModelLayer = LayerInfoData;
export type ModelInspection = Pick<ModelInspectionInfo, 'layers' | 'defaultCutLayer' | 'params' | 'name'>;
export interface ModelEntry {
  id: string;
  name: string;
  installed: boolean;
}

const similaritySchema = z.union([z.number(), z.enum(['low', 'medium', 'high', 'unknown'])]);
const adviceSchema = z.object({
  scenario: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  similarity: z.union([similaritySchema, z.object({ value: z.number().optional(), level: z.string().optional(), score: z.number().optional() })]).optional(),
  size: z.unknown().optional(),
  reasons: z.array(z.string()).default([]),
  reason: z.string().optional(),
  freezeTo: z.string().optional(),
  k: z.number().optional(),
  model: z.string().optional(),
});
export type Advice = z.output<typeof adviceSchema>;

async function optional<T>(name: string, input: unknown, schema: z.ZodType<T>): Promise<T | null> {
  try {
    const r = await transport.request(name, input);
    if (!r.ok) return null;
    const parsed = schema.safeParse(r.output);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

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

export async function advise(model?: string): Promise<Advice | null> {
  const a = (await optional('advise', model ? { model } : {}, adviceSchema)) ?? (await optional('advise', {}, adviceSchema));
  return a && a.reason && !a.reasons.includes(a.reason) ? { ...a, reasons: [...a.reasons, a.reason] } : a;
}

/** The advisor's similarity as 0..1, whatever shape it came in. */
export function similarityValue(a: Advice | null): number | null {
  const s = a?.similarity;
  if (s === undefined) return null;
  if (typeof s === 'number') return s;
  if (typeof s === 'string') return s === 'high' ? 0.8 : s === 'medium' ? 0.5 : s === 'low' ? 0.2 : null;
  return s.value ?? s.score ?? (s.level === 'high' ? 0.8 : s.level === 'medium' ? 0.5 : s.level === 'low' ? 0.2 : null);
}
