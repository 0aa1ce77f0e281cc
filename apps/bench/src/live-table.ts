// The live terminal view: one line per finished row (a table), and below it a progress bar with the
// step in flight (cli-progress). Without a TTY (CI, pipes) the rows are printed as plain lines.
import cliProgress from 'cli-progress';
import pc from 'picocolors';
import { machineLine, ROW_COLUMNS, rowCells } from './report.js';
import type { BenchRow, BenchSkip, MachineInfo } from './types.js';

const WIDTHS = [34, 15, 5, 5, 8, 10, 12, 8, 8, 9, 8, 10, 18, 11, 11];

const line = (cells: readonly string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(WIDTHS[i]) : c.padStart(WIDTHS[i]))).join(' ');

export class LiveTable {
  private readonly tty = process.stdout.isTTY === true;
  private bars?: cliProgress.MultiBar;
  private bar?: cliProgress.SingleBar;
  private total = 0;
  private done = 0;

  header(machine: MachineInfo): void {
    this.write(`${pc.bold('vitkit bench')} · ${machineLine({ machine } as never)}\n\n${pc.bold(line(ROW_COLUMNS))}\n`);
  }

  plan(total: number): void {
    this.total = total;
    if (!this.tty) return;
    this.bars = new cliProgress.MultiBar(
      { format: `${pc.cyan('{bar}')} {value}/{total} models · {status}`, hideCursor: true, clearOnComplete: true, barsize: 24 },
      cliProgress.Presets.shades_classic,
    );
    this.bar = this.bars.create(total, 0, { status: 'starting' });
  }

  status(text: string): void {
    if (this.bar) this.bar.update(this.done, { status: text.slice(0, 90) });
  }

  advance(): void {
    this.done++;
    this.bar?.update(this.done);
  }

  row(r: BenchRow): void {
    const cells = rowCells(r);
    const share = r.ceilingShare;
    const colored = line(cells).replace(cells[11].padStart(WIDTHS[11]), (s) =>
      share >= 0.5 ? pc.green(s) : share >= 0.2 ? pc.yellow(s) : pc.red(s),
    );
    this.write(`${colored}\n`);
  }

  skip(s: BenchSkip): void {
    this.write(pc.dim(`${line([s.model, s.backend, s.dtype])}  ${pc.yellow('not measured')}: ${s.reason.slice(0, 160)}\n`));
  }

  log(text: string): void {
    this.write(`${text}\n`);
  }

  stop(): void {
    this.bars?.stop();
    this.bars = undefined;
    this.bar = undefined;
    void this.total;
  }

  private write(text: string): void {
    if (this.bars) {
      // MultiBar.log only buffers; redraw now so the line lands above the bar at once (and before stop()).
      this.bars.log(text);
      this.bars.update();
    } else process.stdout.write(text);
  }
}
