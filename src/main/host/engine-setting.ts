/**
 * Where the engine runs, saved per machine (<user data>/engine.json: { "engine": "" | "ssh://..." }),
 * and what "Test connection" shows of an engine that started. TRANSFER_STUDIO_ENGINE or --engine
 * fix it for a session instead (the saved value is then not used).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BackendInfo, EngineTestInfo } from '../../shared/domain';
import type { EngineMachine } from '../engine/protocol';

const FILE = 'engine.json';

export function readEngineSetting(userDataDir: string): string {
  try {
    const saved = JSON.parse(fs.readFileSync(path.join(userDataDir, FILE), 'utf8')) as { engine?: unknown };
    return typeof saved.engine === 'string' ? saved.engine : '';
  } catch {
    return '';
  }
}

export function saveEngineSetting(userDataDir: string, engine: string): void {
  fs.mkdirSync(userDataDir, { recursive: true });
  const file = path.join(userDataDir, FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ engine }, null, 2));
  fs.renameSync(tmp, file);
}

const PROVIDER_GPU: Record<string, string> = { cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML' };

/** What an engine reported, in the contract's words; `machine` and `version` come from its handshake. */
export function engineTestInfo(backend: BackendInfo, ready: { version?: string; machine?: EngineMachine } | null, fallbackVersion: string): EngineTestInfo {
  const provider = backend.inference?.runtime === 'onnxruntime' ? backend.inference.provider : undefined;
  const gpu = provider && PROVIDER_GPU[provider] ? `${PROVIDER_GPU[provider]} (ONNX Runtime)` : backend.name === 'tensorflow-gpu' ? 'TensorFlow GPU' : null;
  const m = ready?.machine;
  return {
    version: ready?.version ?? fallbackVersion,
    hostname: m?.hostname ?? backend.server?.hostname ?? '',
    backend,
    gpu,
    freeMemoryBytes: m?.freeMemoryBytes ?? 0,
    totalMemoryBytes: m?.totalMemoryBytes ?? 0,
    ...(m?.freeDiskBytes === undefined ? {} : { freeDiskBytes: m.freeDiskBytes }),
  };
}
