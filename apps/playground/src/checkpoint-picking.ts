// The files of a checkpoint folder on this computer: from the File System Access directory picker
// (Chromium), or dropped (files, or a whole folder through webkitGetAsEntry). Only the folder's own
// files are read, not subfolders: a save_pretrained folder keeps everything at its top level.

export interface PickedFiles {
  files: File[];
  label: string;
}

interface DirectoryHandle {
  name: string;
  values(): AsyncIterable<{ kind: 'file' | 'directory'; name: string; getFile?: () => Promise<File> }>;
}

export function hasDirectoryPicker(): boolean {
  return typeof (globalThis as { showDirectoryPicker?: unknown }).showDirectoryPicker === 'function';
}

/** undefined when the user closed the picker. */
export async function checkpointFilesFromPicker(): Promise<PickedFiles | undefined> {
  const picker = (globalThis as unknown as { showDirectoryPicker(o?: { mode: 'read' }): Promise<DirectoryHandle> }).showDirectoryPicker;
  let dir: DirectoryHandle;
  try {
    dir = await picker({ mode: 'read' });
  } catch (error) {
    if ((error as DOMException)?.name === 'AbortError') return undefined;
    throw error;
  }
  const files: File[] = [];
  for await (const entry of dir.values()) {
    if (entry.kind === 'file' && entry.getFile) files.push(await entry.getFile());
  }
  return { files, label: dir.name };
}

function readDirectory(entry: FileSystemDirectoryEntry): Promise<File[]> {
  const reader = entry.createReader();
  const entries: FileSystemEntry[] = [];
  // readEntries returns the listing in batches until an empty one.
  const next = (): Promise<void> =>
    new Promise((resolve, reject) =>
      reader.readEntries((batch) => {
        if (batch.length === 0) return resolve();
        entries.push(...batch);
        next().then(resolve, reject);
      }, reject),
    );
  return next().then(() =>
    Promise.all(
      entries.filter((e): e is FileSystemFileEntry => e.isFile).map((e) => new Promise<File>((resolve, reject) => e.file(resolve, reject))),
    ),
  );
}

export async function checkpointFilesFromDrop(transfer: DataTransfer): Promise<PickedFiles> {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  const folder = entries.length === 1 && entries[0].isDirectory ? (entries[0] as FileSystemDirectoryEntry) : undefined;
  if (folder) return { files: await readDirectory(folder), label: folder.name };
  return { files: [...transfer.files], label: 'dropped files' };
}
