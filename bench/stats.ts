/** Samples (milliseconds) kept whole: a bench run has at most a few hundred thousand, so exact percentiles are cheap. */
export class Samples {
  private values = new Float64Array(1024);
  private size = 0;
  private sorted = true;

  add(value: number): void {
    if (this.size === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.size++] = value;
    this.sorted = false;
  }

  get count(): number {
    return this.size;
  }

  /** Nearest-rank percentile (p in 0..100); NaN when empty. */
  percentile(p: number): number {
    if (this.size === 0) return NaN;
    if (!this.sorted) {
      this.values.subarray(0, this.size).sort();
      this.sorted = true;
    }
    const rank = Math.max(1, Math.ceil((p / 100) * this.size));
    return this.values[Math.min(rank, this.size) - 1]!;
  }

  summary(): LatencySummary {
    let sum = 0;
    for (let i = 0; i < this.size; i++) sum += this.values[i]!;
    return {
      count: this.size,
      mean: this.size ? sum / this.size : NaN,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.percentile(100),
    };
  }
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `tasks` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * Waits until `pending()` is 0, or until nothing has arrived for `quietS` seconds (so a backlog that is still
 * draining is waited for, and what never comes is called lost only after that much silence), or `maxS` in all.
 * `progress()` is a count that grows with every arrival.
 */
export async function drain(pending: () => number, progress: () => number, quietS: number, maxS = 300): Promise<void> {
  const start = performance.now();
  let last = progress();
  let lastChange = start;
  while (pending() > 0) {
    const now = performance.now();
    if (progress() !== last) {
      last = progress();
      lastChange = now;
    }
    if (now - lastChange >= quietS * 1000 || now - start >= maxS * 1000) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
