/**
 * The gallery's imports: the import dialog (opened by the button, or by a drop the browser gives no
 * paths for), files or folders dropped onto the window (imported at once in Electron), and the
 * report that opens when an import's job finishes.
 */
import { useRef, useState } from 'react';
import { isJobOf, type JobInfo } from '../../../shared/api';
import { api } from '../../api/client';
import { useEvent } from '../../api/hooks';
import { dropImports, useGalleryFileDrop, type DroppedItem } from './file-drop';

export interface GalleryImports {
  dialogOpen: boolean;
  /** Shown in the dialog: why it opened (a browser drop). */
  hint: string;
  openDialog(): void;
  closeDialog(): void;
  /** The import being waited for (the Import button shows it as loading). */
  running: string | undefined;
  /** The report of a finished import, until it is closed. */
  report: JobInfo<'import'> | undefined;
  closeReport(): void;
  onStarted(job: JobInfo<'import'>): void;
  /** Files are being dragged over the window. */
  dropping: boolean;
}

export function useImports({ say, fail }: { say: (text: string) => void; fail: (err: unknown) => void }): GalleryImports {
  const [dialogOpen, setDialogOpen] = useState(false);
  const [hint, setHint] = useState('');
  const [running, setRunning] = useState<string>();
  const [report, setReport] = useState<JobInfo<'import'>>();

  // An import's report opens when its job finishes (it may finish before its id arrives, or
  // before the render that would have stored it: the awaited ids are kept in a ref).
  const finished = useRef(new Map<string, JobInfo<'import'>>());
  const awaiting = useRef(new Set<string>());
  useEvent('job.finished', (j) => {
    if (!isJobOf(j, 'import')) return;
    finished.current.set(j.id, j);
    if (awaiting.current.delete(j.id)) {
      setReport(j);
      setRunning(awaiting.current.values().next().value);
    }
  });
  const onStarted = (j: JobInfo<'import'>): void => {
    const done = finished.current.get(j.id);
    if (done) setReport(done);
    else {
      awaiting.current.add(j.id);
      setRunning(j.id);
    }
  };

  // Files or folders dropped onto the window (here or on another screen, which opens the gallery):
  // imported at once in Electron; a browser gives no paths, so the import dialog opens to type one.
  const dropping = useGalleryFileDrop((items: DroppedItem[] | null) => {
    if (items === null) {
      setHint('The browser does not tell the studio where dropped files are: type or paste their folder or file path.');
      setDialogOpen(true);
      return;
    }
    const requests = dropImports(items);
    if (requests.length === 0) return say('Nothing to import in what was dropped');
    say(`Importing ${requests.length === 1 ? 'what was dropped' : `${requests.length} dropped sources`}`);
    for (const r of requests) api.call('importImages', r).then(onStarted, fail);
  });

  return {
    dialogOpen,
    hint,
    openDialog: () => setDialogOpen(true),
    closeDialog: () => {
      setDialogOpen(false);
      setHint('');
    },
    running,
    report,
    closeReport: () => setReport(undefined),
    onStarted,
    dropping,
  };
}
