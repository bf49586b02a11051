/** The leak view's evidence of a pair (store/audits.ts, domain describeDuplicatePair): the second look's edge correlation, the smoothed correlation, the next best match, the interiors' correlation and their next best are kept and said. */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeDuplicatePair } from '../../../src/shared/domain';
import { listDuplicateClusters, saveAudit } from '../../../src/main/store/audits';
import { ProjectStore } from '../../../src/main/store/project-store';
import { removeTempDirs, tempDir } from '../../fixtures/temp';

afterAll(removeTempDirs);

describe('near-duplicate evidence', () => {
  it('a pair kept by its edges shows them, its smoothed correlation, its next best match and its interiors with theirs beside its doubtful pixel correlation; a plain pair shows neither', () => {
    const store = ProjectStore.create(path.join(tempDir(), 'p'));
    try {
      const db = store.db;
      db.prepare("INSERT INTO sources (id, kind, root, description, imported_at) VALUES (1, 'folder', ?, '', 'x')").run(tempDir());
      const add = db.prepare("INSERT INTO images (source_id, rel_path, file_name, hash, split, width, height, bytes, format, imported_at) VALUES (1, ?, ?, ?, ?, 28, 28, 1, 'png', 'x')");
      const ids = ['a', 'b', 'c', 'd'].map((n, i) => Number(add.run(`${n}.png`, `${n}.png`, (i + 1).toString(16).padStart(64, '0'), i % 2 ? 'test' : 'train').lastInsertRowid));
      const [a, b, c, d] = ids as [number, number, number, number];
      saveAudit(db, {
        source: { runId: null, model: 'm', cutLayer: 'l', featureDim: 4 },
        folds: 5,
        classes: [],
        result: { scored: 0, images: 4, skippedCount: 0, skipped: [], flagged: 0, noiseRates: [], fingerprintsComputed: 4, durations: { fingerprintsMs: 0, foldsMs: 0, neighboursMs: 0, duplicatesMs: 0, totalMs: 0 } },
        lastImageId: d,
        scores: [],
        clusters: [
          { members: [a, b], pairs: [{ a, b, hamming: 22, cosine: null, pixel: 0.972, match: 'rescaled', edges: 0.981, smoothed: 0.9912, rival: 0.9786, interior: 0.9421, interiorRival: 0.71 }] },
          { members: [c, d], pairs: [{ a: c, b: d, hamming: 2, cosine: 0.99, pixel: 0.995, match: 'aligned', edges: null, smoothed: null, rival: null, interior: null, interiorRival: null }] },
        ],
      });
      const pairs = listDuplicateClusters(db, { only: 'all', offset: 0, limit: 10 }).rows.flatMap((r) => r.pairs);
      const kept = pairs.find((p) => p.a === a)!;
      expect(kept.edges).toBeCloseTo(0.981, 6);
      expect(kept.smoothed).toBeCloseTo(0.9912, 6);
      expect(kept.rival).toBeCloseTo(0.9786, 6);
      expect(kept.interior).toBeCloseTo(0.9421, 6);
      expect(kept.interiorRival).toBeCloseTo(0.71, 6);
      // The next best match on the smoothed scale, and how much farther from identical than the pair it is: 0.0214 / 0.0088.
      expect(describeDuplicatePair(kept)).toBe('hash 22 bits apart · features not among the nearest · pixels 0.972 (rescaled: cropped, padded or resized) · smoothed 0.991 · next best match 0.979 smoothed (2.4× as far off) · edges 0.981 · interiors 0.942, next best 0.710 (5.0× as far off) · doubtful: -0.013 over the threshold');
      const plain = pairs.find((p) => p.a === c)!;
      expect(plain.edges).toBeNull();
      expect(plain.smoothed).toBeNull();
      expect(plain.rival).toBeNull();
      expect(plain.interior).toBeNull();
      expect(plain.interiorRival).toBeNull();
      expect(describeDuplicatePair(plain)).not.toContain('edges');
      expect(describeDuplicatePair(plain)).not.toContain('next best');
      expect(describeDuplicatePair(plain)).not.toContain('smoothed');
      expect(describeDuplicatePair(plain)).not.toContain('interiors');
    } finally {
      store.close();
    }
  });
});
