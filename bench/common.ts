/** What every benchmark reads: where ../shared is (SHARED_DIR overrides) and its command-line flags. */
import path from 'node:path';

export const SHARED = path.resolve(process.env['SHARED_DIR'] ?? path.join(import.meta.dirname, '../../shared'));
export const argv = process.argv.slice(2);

/** The value after a flag (`--alphas 0.25,0.75`), or undefined. */
export function arg(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
