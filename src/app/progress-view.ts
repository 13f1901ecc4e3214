/**
 * Progress of long work on stderr: a cli-progress bar on a terminal, otherwise a plain line whenever the
 * step worth reporting changes (logs, services, CI). Shared by downloads, re-embedding and index builds.
 */
import cliProgress from 'cli-progress';

export interface ProgressView<P> {
  update(p: P): void;
  stop(): void;
}

export interface ProgressViewOptions<P> {
  /** cli-progress format: {bar}, {value}, {total}, {percentage}, {eta_formatted} and the payload's keys. */
  format: string;
  value(p: P): number;
  total(p: P): number;
  payload?(p: P): Record<string, unknown>;
  /** Without a terminal: the line for this update, printed when `key` changes (default: when the line does). */
  line(p: P): string;
  key?(p: P): string;
  out?: NodeJS.WriteStream;
}

export function progressView<P>(o: ProgressViewOptions<P>): ProgressView<P> {
  const out = o.out ?? process.stderr;
  if (!out.isTTY) {
    let last: string | undefined;
    return {
      update(p) {
        const key = o.key ? o.key(p) : o.line(p);
        if (key !== last) out.write(o.line(p) + '\n');
        last = key;
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({ format: o.format, hideCursor: true, stream: out }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(p) {
      const payload = o.payload?.(p) ?? {};
      const total = Math.max(1, o.total(p));
      if (!started) {
        bar.start(total, o.value(p), payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(o.value(p), payload);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
