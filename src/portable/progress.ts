/** Progress of an export or import, as the interfaces show it (a bar on a terminal, lines otherwise). */

export interface PortableProgress {
  /** What is being done, for people: "writing chunks.parquet", "checking checksums", ... */
  step: string;
  /** Work done and to do in this step, in `unit`s (total 0: unknown). */
  done: number;
  total: number;
  unit: 'pages' | 'chunks' | 'bytes';
}

export type ProgressFn = (p: PortableProgress) => void;

/** Reports at most every `everyMs` (always the first and the last of a step). */
export function throttled(fn: ProgressFn | undefined, everyMs = 250): ProgressFn {
  let last = 0;
  let lastStep = '';
  return (p) => {
    if (!fn) return;
    const now = Date.now();
    if (p.step !== lastStep || p.done >= p.total || now - last >= everyMs) {
      last = now;
      lastStep = p.step;
      fn(p);
    }
  };
}
