/** Recently opened projects, kept per machine in the user data folder (never in a project). */
import fs from 'node:fs';
import path from 'node:path';
import type { RecentProject } from '../../shared/domain';
import { writeFileAtomicSync } from '../../shared/node/atomic-write';

const MAX_RECENT = 12;

export class RecentProjects {
  private readonly file: string;

  constructor(userDataDir: string) {
    this.file = path.join(userDataDir, 'recent-projects.json');
  }

  list(): RecentProject[] {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as unknown;
      return Array.isArray(parsed) ? (parsed as RecentProject[]).filter((p) => typeof p?.dir === 'string') : [];
    } catch {
      return []; // first launch, or an unreadable file: an empty list is the honest answer
    }
  }

  touch(dir: string, name: string): void {
    this.write([{ dir, name, openedAt: new Date().toISOString() }, ...this.list().filter((p) => p.dir !== dir)].slice(0, MAX_RECENT));
  }

  forget(dir: string): RecentProject[] {
    const next = this.list().filter((p) => p.dir !== dir);
    this.write(next);
    return next;
  }

  private write(list: RecentProject[]): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileAtomicSync(this.file, JSON.stringify(list, null, 2));
  }
}
