/**
 * Requests the model and advisor engineers are adding (listModels, inspectModel, advise). Until
 * they are in the contract the wizard calls them by name through the transport and reads the
 * answer defensively: an unknown request or an unexpected shape gives `null`, and the wizard
 * falls back to typed-in model ids and its own estimate.
 */
import { z } from 'zod';
import { transport } from '../../api/client';

const layerSchema = z.object({
  name: z.string(),
  className: z.string().default(''),
  outputShape: z.array(z.number()).default([]),
  params: z.number().default(0),
  cutPoint: z.boolean().default(false),
});
export type ModelLayer = z.output<typeof layerSchema>;

const inspectionSchema = z.object({
  name: z.string().optional(),
  params: z.number().optional(),
  layers: z.array(layerSchema),
  defaultCutLayer: z.string().optional(),
});
export type ModelInspection = z.output<typeof inspectionSchema>;

const modelSchema = z.union([
  z.string().transform((id) => ({ id, name: id, installed: true })),
  z
    .object({ id: z.string(), name: z.string().optional(), installed: z.boolean().optional() })
    .transform((m) => ({ id: m.id, name: m.name ?? m.id, installed: m.installed ?? true })),
]);
export type ModelEntry = z.output<typeof modelSchema>;

const similaritySchema = z.union([z.number(), z.enum(['low', 'medium', 'high'])]);
const adviceSchema = z.object({
  scenario: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
  similarity: z.union([similaritySchema, z.object({ value: z.number().optional(), level: z.string().optional(), score: z.number().optional() })]).optional(),
  size: z.unknown().optional(),
  reasons: z.array(z.string()).default([]),
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

export const listModels = (): Promise<ModelEntry[] | null> =>
  optional('listModels', {}, z.union([z.array(modelSchema), z.object({ models: z.array(modelSchema) }).transform((o) => o.models)]));

export const inspectModel = async (id: string): Promise<ModelInspection | null> =>
  (await optional('inspectModel', { id }, inspectionSchema)) ?? (await optional('inspectModel', { model: id }, inspectionSchema));

export const advise = (model?: string): Promise<Advice | null> => optional('advise', model ? { model } : {}, adviceSchema);

/** The advisor's similarity as 0..1, whatever shape it came in. */
export function similarityValue(a: Advice | null): number | null {
  const s = a?.similarity;
  if (s === undefined) return null;
  if (typeof s === 'number') return s;
  if (typeof s === 'string') return s === 'high' ? 0.8 : s === 'medium' ? 0.5 : 0.2;
  return s.value ?? s.score ?? (s.level === 'high' ? 0.8 : s.level === 'medium' ? 0.5 : s.level === 'low' ? 0.2 : null);
}
