/** Progress of `doctor export` / `doctor import`: a bar per step on a terminal, a line every few seconds otherwise. */
import cliProgress from 'cli-progress';
import type { PortableProgress } from '../service/index.js';

export const humanBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 2 ** 20 ? `${(n / 1024).toFixed(0)} KiB` : n < 2 ** 30 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 2 ** 30).toFixed(2)} GiB`;

const amount = (p: PortableProgress, n: number) => (p.unit === 'bytes' ? humanBytes(n) : `${n.toLocaleString('en-US')} ${p.unit}`);

export interface StepProgressView {
  update(p: PortableProgress): void;
  stop(): void;
}

export function stepProgress(stream: NodeJS.WriteStream = process.stderr, lineEveryMs = 3000): StepProgressView {
  if (!stream.isTTY) {
    let lastAt = 0;
    let lastStep = '';
    return {
      update(p) {
        const now = Date.now();
        if (p.step === lastStep && now - lastAt < lineEveryMs && p.done < p.total) return;
        lastAt = now;
        lastStep = p.step;
        stream.write(`${p.step}: ${amount(p, p.done)}${p.total ? ` of ${amount(p, p.total)}` : ''}\n`);
      },
      stop() {},
    };
  }
  let bar: cliProgress.SingleBar | undefined;
  let step = '';
  const finish = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    update(p) {
      const payload = { step: p.step, doneText: amount(p, p.done), totalText: amount(p, p.total) };
      if (p.step !== step || !bar) {
        finish();
        step = p.step;
        bar = new cliProgress.SingleBar(
          { format: '{step} [{bar}] {doneText} / {totalText} | {eta_formatted} left', hideCursor: true, stream },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(1, p.total), p.done, payload);
      } else {
        bar.setTotal(Math.max(1, p.total));
        bar.update(p.done, payload);
      }
    },
    stop: finish,
  };
}
