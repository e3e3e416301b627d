// `npm run bench`: every benchmark, figures and ratios measured side by side in one run.
// `npm run bench -- --quick` runs shorter rounds; `-- crush` or `-- core` runs one part (crush, tracker,
// core, security, durable, dashboard, observability, replicated, simulate: the simulator at scale, in a child process).
import { benchCore } from "./core.ts";
import { benchCrush } from "./crush.ts";
import { benchDashboard } from "./dashboard.ts";
import { benchDurable } from "./durable.ts";
import { benchObservability } from "./observability.ts";
import { benchReplicated } from "./replicated.ts";
import { benchSecurity } from "./security.ts";
import { benchSimulate } from "./simulate.ts";
import { formatResult } from "./stats.ts";
import { benchTracker } from "./tracker.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const parts = args.filter((arg) => !arg.startsWith("--"));
const wants = (part: string) => parts.length === 0 || parts.includes(part);
console.log(
  `dsat benchmarks (${quick ? "quick" : "full"}; medians of several rounds; node ${process.version})`,
);
if (wants("crush")) for (const result of benchCrush(quick)) console.log(formatResult(result));
if (wants("tracker")) for (const result of benchTracker(quick)) console.log(formatResult(result));
if (wants("core")) for (const result of await benchCore(quick)) console.log(formatResult(result));
if (wants("security")) for (const result of await benchSecurity(quick)) console.log(formatResult(result));
if (wants("durable")) for (const result of await benchDurable(quick)) console.log(formatResult(result));
if (wants("dashboard")) for (const result of await benchDashboard(quick)) console.log(formatResult(result));
if (wants("replicated")) for (const result of await benchReplicated(quick)) console.log(formatResult(result));
if (wants("simulate")) for (const result of benchSimulate(quick)) console.log(formatResult(result));
if (wants("observability"))
  for (const result of await benchObservability(quick)) console.log(formatResult(result));
process.exit(0);
