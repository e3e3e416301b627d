// `npm run bench`: every benchmark, figures and ratios measured side by side in one run.
// `npm run bench -- --quick` runs shorter rounds.
import { benchCrush } from "./crush.ts";
import { formatResult } from "./stats.ts";

const quick = process.argv.includes("--quick");
console.log(
  `dsat benchmarks (${quick ? "quick" : "full"}; medians of several rounds; node ${process.version})`,
);
for (const result of benchCrush(quick)) console.log(formatResult(result));
