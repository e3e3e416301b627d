// Small helpers shared by the benchmarks.
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** A figure with a target says whether it met it; one that did not is printed as MISSED. */
  target?: { atLeast?: number; below?: number; note?: string };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** "met" or "MISSED" for a result with a target (a figure that could not be measured misses). */
export function verdict(result: BenchResult): string | null {
  const target = result.target;
  if (target === undefined) return null;
  const value = result.value;
  const met =
    !Number.isNaN(value) &&
    (target.atLeast === undefined || value >= target.atLeast) &&
    (target.below === undefined || value < target.below);
  return met ? "met" : "MISSED";
}

export function formatResult(result: BenchResult): string {
  const value = Number.isNaN(result.value)
    ? "-"
    : result.value >= 100
      ? Math.round(result.value).toLocaleString("en-US")
      : result.value.toFixed(2);
  let unit = result.unit;
  const target = result.target;
  if (target !== undefined) {
    const bound = [
      target.atLeast !== undefined ? `>= ${target.atLeast}` : "",
      target.below !== undefined ? `< ${target.below}` : "",
    ]
      .filter((part) => part !== "")
      .join(", ");
    const note = target.note !== undefined ? `; ${target.note}` : "";
    unit = `${unit} (target ${bound}: ${verdict(result)}${note})`;
  }
  return `${result.name.padEnd(72)} ${value.padStart(14)} ${unit}`;
}
