/** What a project database may hold (project-audit.ts): paths and hashes as imports store them, nothing else. */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../../src/main/store/migrations';
import { auditDatabase } from '../../../src/main/store/project-audit';
import { ProjectStore } from '../../../src/main/store/project-store';
import { removeTempDirs, tempDir } from '../../fixtures/temp';

afterAll(removeTempDirs);

const hex = (i: number): string => i.toString(16).padStart(64, '0');

describe('project audit', () => {
  it('accepts what imports store and names each path, hash and root they never store', () => {
    const store = ProjectStore.create(path.join(tempDir(), 'p'));
    try {
      const db = store.db;
      db.prepare("INSERT INTO sources (id, kind, root, description, imported_at) VALUES (1, 'folder', ?, '', 'x')").run(tempDir());
      const add = db.prepare("INSERT INTO images (source_id, rel_path, file_name, hash, split, width, height, bytes, format, imported_at) VALUES (1, ?, 'f', ?, 'train', 1, 1, 1, 'png', 'x')");
      const good = ['a.png', 'cat/b.png', 'x/y/z..png', '.hidden/c.png', 'a b/é.png'];
      good.forEach((p, i) => add.run(p, hex(i + 1)));
      expect(auditDatabase(db, SCHEMA_VERSION)).toEqual([]);

      const bad = ['', '.', '..', '/etc/passwd', '../x.png', 'a/../../x.png', 'a/./b.png', 'a//b.png', 'a/', 'a/..', 'C:/x.png', 'a\0b.png'];
      bad.forEach((p, i) => add.run(p, hex(100 + i)));
      add.run('ok.png', '../../../outside');
      add.run('ok2.png', hex(200).toUpperCase());
      db.prepare("INSERT INTO sources (id, kind, root, description, imported_at) VALUES (2, 'folder', 'relative/dir', '', 'x'), (3, 'folder', '/a/../b', '', 'x')").run();
      const findings = auditDatabase(db, SCHEMA_VERSION);
      expect(findings).toHaveLength(3);
      expect(findings[0]).toMatch(/^2 image hash\(es\) that are not 64 hexadecimal digits: .*'\.\.\/\.\.\/\.\.\/outside'/);
      expect(findings[1]).toMatch(new RegExp(`^${bad.length} image path\\(s\\) that leave their source folder: `));
      expect(findings[2]).toBe('2 source root(s) that are not absolute paths of folders: source 2 ("relative/dir"), source 3 ("/a/../b")');
    } finally {
      store.close();
    }
  });
});
