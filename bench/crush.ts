// CRUSH benchmark: mappings/s for a 3-replica chooseleaf rule on the 1,000-device fixture map
// (2 datacenters x 5 racks x 10 hosts x 10 devices), steady state, against crushtool measured in
// the same run when it is installed. crushtool's process start and map load are excluded by
// timing a 1-input run and subtracting it.
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { defaultReweights, loadCrushMapFile, Mapper } from "../src/crush/index.ts";
import { type BenchResult, median } from "./stats.ts";

const MAP_TEXT = fileURLToPath(new URL("../test/fixtures/crush/maps/big.txt", import.meta.url));
const MAP_BINARY = fileURLToPath(new URL("../test/fixtures/crush/bin/big.bin", import.meta.url));

function dsatRate(inputs: number, rounds: number): number[] {
  const map = loadCrushMapFile(MAP_TEXT);
  const mapper = new Mapper(map);
  const reweights = defaultReweights(map);
  const result = new Int32Array(3);
  let checksum = 0;
  for (let x = 0; x < 20_000; x++) checksum += mapper.mapInto(0, x, 3, reweights, result); // warm-up
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let x = 0; x < inputs; x++) checksum += mapper.mapInto(0, x, 3, reweights, result) + result[0];
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(inputs / seconds);
  }
  if (checksum === 42) console.log(""); // keep the loop observable
  return rates;
}

function crushtoolAvailable(): boolean {
  return spawnSync("crushtool", ["--help"], { stdio: "ignore" }).error === undefined;
}

function crushtoolSeconds(inputs: number): number {
  const start = process.hrtime.bigint();
  execFileSync(
    "crushtool",
    [
      "-i",
      MAP_BINARY,
      "--test",
      "--rule",
      "0",
      "--num-rep",
      "3",
      "--min-x",
      "0",
      "--max-x",
      String(inputs - 1),
    ],
    { stdio: "ignore" },
  );
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function crushtoolRate(inputs: number, rounds: number): number[] {
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const startup = crushtoolSeconds(1);
    const total = crushtoolSeconds(inputs);
    rates.push(inputs / Math.max(total - startup, 1e-9));
  }
  return rates;
}

export function benchCrush(quick: boolean): BenchResult[] {
  const inputs = quick ? 100_000 : 400_000;
  const rounds = quick ? 3 : 5;
  const results: BenchResult[] = [];
  const ours = median(dsatRate(inputs, rounds));
  results.push({
    name: "crush: dsat mappings/s (1000 devices, chooseleaf host, 3 replicas)",
    value: ours,
    unit: "mappings/s",
  });
  if (crushtoolAvailable()) {
    const theirs = median(crushtoolRate(inputs, rounds));
    results.push({
      name: "crush: crushtool mappings/s (same map, rule, inputs)",
      value: theirs,
      unit: "mappings/s",
    });
    results.push({
      name: "crush: dsat / crushtool",
      value: ours / theirs,
      unit: "ratio",
      target: { atLeast: 1 },
    });
  } else {
    results.push({
      name: "crush: crushtool not installed (apt-get install ceph-base): no ratio",
      value: Number.NaN,
      unit: "",
    });
  }
  return results;
}
