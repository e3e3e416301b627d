// Small helpers shared by the benchmarks.
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function formatResult(result: BenchResult): string {
  const value = Number.isNaN(result.value)
    ? "-"
    : result.value >= 100
      ? Math.round(result.value).toLocaleString("en-US")
      : result.value.toFixed(2);
  return `${result.name.padEnd(72)} ${value.padStart(14)} ${result.unit}`;
}
