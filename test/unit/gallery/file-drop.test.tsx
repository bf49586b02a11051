// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, renderHook } from '@testing-library/react';
import { importRequestSchema } from '../../../src/shared/domain';
import { dropImports, droppedItems, useDropToGallery, useFileDrop, useGalleryFileDrop, type DroppedItem } from '../../../src/renderer/features/gallery/file-drop';

afterEach(() => {
  cleanup();
  delete window.studio;
});

/** A DataTransfer as Chromium hands it to a drop of files (jsdom has none). */
function fakeTransfer(entries: { name: string; dir: boolean }[]): DataTransfer {
  const items = entries.map((e) => ({
    kind: 'file',
    getAsFile: () => new File([], e.name),
    webkitGetAsEntry: () => ({ isDirectory: e.dir }),
  }));
  return { types: ['Files'], items, files: items.map((i) => i.getAsFile()) } as unknown as DataTransfer;
}

function fire(type: string, dataTransfer: DataTransfer | null): Event {
  const e = new Event(type, { bubbles: true, cancelable: true });
  Object.defineProperty(e, 'dataTransfer', { value: dataTransfer });
  window.dispatchEvent(e);
  return e;
}

describe('dropping files: the imports', () => {
  it('imports each folder, zip and CSV on its own, one file as itself, other files together', () => {
    const items: DroppedItem[] = [
      { path: '/data/leaves', isDirectory: true },
      { path: '/data/a.png', isDirectory: false },
      { path: '/data/b.jpg', isDirectory: false },
      { path: '/data/set.ZIP', isDirectory: false },
      { path: '/data/train.csv', isDirectory: false },
      { path: '', isDirectory: false },
    ];
    const reqs = dropImports(items);
    expect(reqs).toEqual([{ source: '/data/leaves' }, { source: '/data/set.ZIP' }, { source: '/data/train.csv' }, { source: ['/data/a.png', '/data/b.jpg'], kind: 'files' }]);
    for (const r of reqs) expect(importRequestSchema.safeParse(r).success).toBe(true);
    expect(dropImports([{ path: '/x/one.png', isDirectory: false }])).toEqual([{ source: '/x/one.png' }]);
    expect(dropImports([])).toEqual([]);
  });

  it('reads paths through the shell, and none in a browser', () => {
    const dt = fakeTransfer([
      { name: 'leaves', dir: true },
      { name: 'a.png', dir: false },
    ]);
    expect(droppedItems(dt, undefined)).toBeNull();
    expect(droppedItems(dt, (f) => `/data/${f.name}`)).toEqual([
      { path: '/data/leaves', isDirectory: true },
      { path: '/data/a.png', isDirectory: false },
    ]);
  });
});

describe('dropping files: the window listener', () => {
  it('shows the drag, allows the drop and hands over the paths (Electron)', () => {
    window.studio = { request: vi.fn(), on: vi.fn(), pathForFile: (f: File) => `/home/me/${f.name}` };
    const onDrop = vi.fn();
    const { result } = renderHook(() => useFileDrop(onDrop));
    const dt = fakeTransfer([{ name: 'photos', dir: true }]);
    act(() => void fire('dragenter', dt));
    expect(result.current).toBe(true);
    let over: Event | undefined;
    act(() => void (over = fire('dragover', dt)));
    expect(over?.defaultPrevented).toBe(true);
    act(() => void fire('drop', dt));
    expect(result.current).toBe(false);
    expect(onDrop).toHaveBeenCalledWith([{ path: '/home/me/photos', isDirectory: true }]);
  });

  it('gives null in a browser, and ignores drags that carry no files', () => {
    const onDrop = vi.fn();
    const { result } = renderHook(() => useFileDrop(onDrop));
    const internal = { types: ['application/x-transfer-studio-images'], items: [] } as unknown as DataTransfer;
    act(() => void fire('dragenter', internal));
    expect(result.current).toBe(false);
    expect(fire('dragover', internal).defaultPrevented).toBe(false);
    act(() => void fire('drop', fakeTransfer([{ name: 'a.png', dir: false }])));
    expect(onDrop).toHaveBeenCalledWith(null);
  });

  it('stays on while the drag moves between elements, off when it leaves the window', () => {
    const { result } = renderHook(() => useFileDrop(vi.fn()));
    const dt = fakeTransfer([{ name: 'a.png', dir: false }]);
    act(() => void fire('dragenter', dt));
    act(() => void fire('dragenter', dt));
    act(() => void fire('dragleave', dt));
    expect(result.current).toBe(true);
    act(() => void fire('dragleave', dt));
    expect(result.current).toBe(false);
  });

  it('keeps a drop made on another screen for the gallery, which handles it when it opens', () => {
    window.studio = { request: vi.fn(), on: vi.fn(), pathForFile: (f: File) => `/in/${f.name}` };
    const show = vi.fn();
    const other = renderHook(({ enabled }) => useDropToGallery(enabled, show), { initialProps: { enabled: false } });
    const dt = fakeTransfer([{ name: 'photos', dir: true }]);
    // Disabled (the gallery is showing): the drop is left alone.
    expect(fire('dragover', dt).defaultPrevented).toBe(false);
    other.rerender({ enabled: true });
    act(() => void fire('drop', dt));
    expect(show).toHaveBeenCalledTimes(1);
    other.unmount();
    const onDrop = vi.fn();
    renderHook(() => useGalleryFileDrop(onDrop));
    expect(onDrop).toHaveBeenCalledWith([{ path: '/in/photos', isDirectory: true }]);
    // Taken once: the next gallery does not import it again.
    const again = vi.fn();
    renderHook(() => useGalleryFileDrop(again));
    expect(again).not.toHaveBeenCalled();
  });
});
