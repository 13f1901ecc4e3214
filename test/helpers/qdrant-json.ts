/**
 * JSON as Qdrant writes it. Qdrant is Rust: serde_json prints an f32 with ryu, the shortest decimal that
 * reads back as the same f32 (`0.0435315892`, `-0.0012`, `1e-7`, `1.0`), not the float's exact
 * double expansion and not a fixed number of decimals. Vectors in a scroll answer are f32, so fixtures that
 * round components (fewer digits) or print them as doubles (more digits) measure a different parser load.
 */

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** The shortest decimal that `Math.fround(Number(s))` reads back as `x` (an f32 value), formatted as ryu does. */
export function f32ToJson(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  if (!Number.isFinite(x)) return 'null'; // serde_json writes non-finite floats as null
  const a = Math.abs(x);
  let k = Math.floor(Math.log10(a));
  if (a < 10 ** k) k--;
  else if (a >= 10 ** (k + 1)) k++;
  // Fewest significant digits p such that round(a * 10^(p-1-k)) / 10^(p-1-k) is `a` as an f32. Division of
  // two exactly representable integers (10^n for n <= 22) is correctly rounded, so it equals Number(decimal).
  for (let p = 1; p <= 9; p++) {
    const n = p - 1 - k;
    let d: number;
    let value: number;
    if (n >= 0 && n <= 22) {
      d = Math.round(a * POW10[n]!);
      value = d / POW10[n]!;
    } else if (n < 0 && -n <= 22) {
      d = Math.round(a / POW10[-n]!);
      value = d * POW10[-n]!;
    } else {
      return slowF32ToJson(x);
    }
    if (Math.fround(value) === a) return (x < 0 ? '-' : '') + ryuFormat(String(d), -n);
  }
  return slowF32ToJson(x);
}

/** Digits `ds` times 10^e, laid out as ryu's f32 formatting does. */
function ryuFormat(ds: string, e: number): string {
  let end = ds.length;
  while (end > 1 && ds.charCodeAt(end - 1) === 48) end--;
  e += ds.length - end;
  ds = ds.slice(0, end);
  const kk = ds.length + e; // 10^(kk-1) <= value < 10^kk
  if (e >= 0 && kk <= 13) return `${ds}${'0'.repeat(e)}.0`;
  if (kk > 0 && kk <= 13) return `${ds.slice(0, kk)}.${ds.slice(kk)}`;
  if (kk > -6 && kk <= 0) return `0.${'0'.repeat(-kk)}${ds}`;
  return `${ds.length === 1 ? ds : `${ds[0]}.${ds.slice(1)}`}e${kk - 1}`;
}

/** The same through toPrecision (slow; for magnitudes outside the fast path's exact powers of ten). */
function slowF32ToJson(x: number): string {
  const a = Math.abs(x);
  let best = a.toPrecision(9);
  for (let p = 8; p >= 1; p--) {
    const s = a.toPrecision(p);
    if (Math.fround(Number(s)) !== a) break;
    best = s;
  }
  const [mant, exp] = Number(best).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  return (x < 0 ? '-' : '') + ryuFormat(digits, Number(exp) - (digits.length - 1));
}

/** A vector as Qdrant prints it: `[0.0435315892,-0.0012,...]`. */
export function f32ArrayToJson(v: ArrayLike<number>): string {
  let out = '[';
  for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + f32ToJson(v[i]!);
  return `${out}]`;
}

/**
 * JSON.stringify, except that arrays of numbers under a `vector` key are printed as f32 vectors: what
 * serde_json gives for a Qdrant record (`{"id":..,"payload":{..},"vector":[..] or {"name":[..]}}`).
 * Payloads keep their unicode as raw UTF-8, as serde_json does.
 */
export function qdrantRecordJson(record: { id: unknown; payload: unknown; vector: unknown }): string {
  const vec = record.vector;
  let vjson: string;
  if (vec === null || vec === undefined) vjson = 'null';
  else if (Array.isArray(vec) || ArrayBuffer.isView(vec)) vjson = f32ArrayToJson(vec as ArrayLike<number>);
  else vjson = `{${Object.entries(vec as Record<string, number[]>).map(([k, v]) => `${JSON.stringify(k)}:${f32ArrayToJson(v)}`).join(',')}}`;
  return `{"id":${JSON.stringify(record.id)},"payload":${JSON.stringify(record.payload ?? null)},"vector":${vjson}}`;
}
