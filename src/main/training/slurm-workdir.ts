/**
 * The Slurm work folder as SlurmExecutor sees it: a folder of this machine where it writes the
 * bundles and reads what the tasks write back, and the same folder as the cluster names it. Where
 * this machine shares the cluster's file system the two are one folder and nothing travels
 * (localWorkdir); from a machine outside the cluster the local folder is a mirror that push and
 * pull keep in step with the work folder on the login node (slurm-ssh.ts).
 */
import path from 'node:path';

export interface PullOptions {
  /** Folders come whole (every file in them); else a folder is mirrored as an empty folder, which says only that it is there. */
  deep?: boolean;
  /** The most bytes one file may have: a larger one is not read (its size is kept, so the reader refuses it by its size). */
  maxBytes: number;
  /** The most bytes all files together may have: past it, files are not read (kept by size, as above). */
  maxTotal?: number;
}

export interface SlurmWorkdir {
  /** The folder of this machine the executor writes and reads. */
  readonly local: string;
  /** A path inside `local` as the cluster names it (what sbatch and the tasks read). */
  clusterPath(localPath: string): string;
  /** Gives the cluster these files or folders (paths relative to `local`); `onlyMissing`: not those it has already (content-addressed). */
  push(rels: string[], options?: { onlyMissing?: boolean; signal?: AbortSignal }): Promise<void>;
  /** Removes these (relative paths) from the cluster's side. */
  remove(rels: string[]): Promise<void>;
  /** Brings these (relative paths) here as the cluster has them; one the cluster lacks is removed here. */
  pull(rels: string[], options: PullOptions): Promise<void>;
}

/** A work folder this machine and the compute nodes see at the same path: nothing travels. */
export function localWorkdir(dir: string): SlurmWorkdir {
  const local = path.resolve(dir);
  return {
    local,
    clusterPath: (p) => p,
    push: async () => undefined,
    remove: async () => undefined,
    pull: async () => undefined,
  };
}

/** A path inside the work folder, relative to it with / separators (what push and pull take). */
export function workdirRel(workdir: SlurmWorkdir, localPath: string): string {
  return path.relative(workdir.local, localPath).split(path.sep).join('/');
}
