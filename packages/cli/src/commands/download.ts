import { downloadPretrained, type PretrainedOptions } from '@vitkit/core';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';

interface DownloadFlags {
  revision?: string;
  cacheDir?: string;
}

/**
 * `vitkit download <repo-id>`: fetches what `fromPretrained` needs (config, preprocessor config,
 * weights) into the Hugging Face cache, so a later run works offline. Progress goes to stderr and
 * the snapshot folder to stdout, so scripts can capture the path.
 */
export function registerDownload(program: Command): void {
  program
    .command('download')
    .description('Download a checkpoint from the Hugging Face Hub into the cache (shared with Python huggingface_hub)')
    .argument('<repo-id>', 'Hub id, e.g. facebook/dinov2-small')
    .option('--revision <revision>', 'branch, tag or commit', 'main')
    .option('--cache-dir <dir>', 'cache root (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)')
    .action(async (repoId: string, flags: DownloadFlags) => {
      const bars = new cliProgress.MultiBar(
        { format: '{file} [{bar}] {percentage}% | {size}', hideCursor: true, clearOnComplete: false, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
      const byFile = new Map<string, cliProgress.SingleBar>();
      const onProgress: PretrainedOptions['onProgress'] = ({ file, loaded, total }) => {
        const size = total === undefined ? formatBytes(loaded) : `${formatBytes(loaded)} / ${formatBytes(total)}`;
        let bar = byFile.get(file);
        if (!bar) {
          bar = bars.create(total ?? 0, 0, { file, size });
          byFile.set(file, bar);
        }
        // Without a size from the Hub the bar can only show bytes so far, so it tracks them as its total.
        if (total === undefined) bar.setTotal(loaded);
        bar.update(loaded, { size });
      };
      try {
        const result = await downloadPretrained(repoId, { revision: flags.revision, cacheDir: flags.cacheDir, onProgress });
        bars.stop();
        process.stderr.write(`${result.files.length} files ready for ${repoId}@${flags.revision ?? 'main'}\n`);
        process.stdout.write(`${result.dir}\n`);
      } finally {
        bars.stop();
      }
    });
}

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
