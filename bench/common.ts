/**
 * What every benchmark reads: the real models of the repository (test/assets/models), where
 * ../shared is (SHARED_DIR overrides; only the PyTorch reference script lives there) and the
 * command-line flags.
 */
import path from 'node:path';

export const SHARED = path.resolve(process.env['SHARED_DIR'] ?? path.join(import.meta.dirname, '../../shared'));
export const MODELS = path.resolve(import.meta.dirname, '../test/assets/models');
export const argv = process.argv.slice(2);

/** The value after a flag (`--alphas 0.25,0.75`), or undefined. */
export function arg(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** What `work` returns, and the seconds it took. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; s: number }> {
  const t0 = performance.now();
  const value = await work();
  return { value, s: (performance.now() - t0) / 1000 };
}
