// `dsat locality` (docs/locality.md): where a job with these inputs would run, and why; and
// `dsat rebalance` (docs/operations.md, "Rebalance"): which keys move, from which satellite to
// which, when the fleet changes. Both ask the orchestrator's own placement code, never a copy.
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { JobRouter, resolveConfig, WaitingRoom } from "../orchestrator/index.ts";
import { encode, WorkerCommand, workerCommandFrames } from "../protocol/index.ts";
import {
  changedFleet,
  declaredSatellites,
  type FleetChange,
  type FleetSatellite,
  loadTopology,
  orchestratorConfig,
  planRebalance,
  type Topology,
  type TypeRebalance,
} from "../topology/index.ts";
import { formatTable, seededRandom } from "../util/index.ts";
import { adminControl, registeredSatellites } from "./control.ts";
import { UsageError } from "./errors.ts";
import { defaultTopologyFile, integerIn } from "./options.ts";
import { applyRebalance, liveKeys } from "./rebalance-apply.ts";

const count = integerIn(0, 10_000_000);

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The fleet now: the running orchestrator's registered satellites (--live), or the declared ones. */
async function fleetNow(file: string, topology: Topology, live: boolean): Promise<FleetSatellite[]> {
  if (!live) return declaredSatellites(topology);
  return registeredSatellites<FleetSatellite>(file, topology, "--live (and applying a rebalance)");
}

/**
 * A router (the orchestrator's decisions, no sockets) with `satellites` registered and `down`
 * drained: what the orchestrator would decide for them.
 */
function offlineRouter(topology: Topology, satellites: readonly FleetSatellite[], down: string[]): JobRouter {
  const {
    security: _s,
    journal: _j,
    diskSpill: _d,
    ...config
  } = orchestratorConfig(topology) as ReturnType<typeof orchestratorConfig> & Record<string, unknown>;
  const router = new JobRouter(resolveConfig({ ...config, diskSpill: false, log: () => {} }), {
    random: seededRandom(1),
    randomBytes: (n: number) => Buffer.alloc(n),
    instance: "plan",
    peerBacklogBytes: () => 0,
    spill: new WaitingRoom(1 << 20),
    curve: () => null,
  });
  for (const satellite of satellites) {
    const hello = {
      id: satellite.id,
      types: [...satellite.types],
      location: satellite.location.split(",").map((pair) => pair.split("=", 2)),
      capacity: 1,
      weight: satellite.weight,
      batch: true,
      inputs: true,
    };
    const ready = workerCommandFrames(WorkerCommand.ready, Buffer.from(hello.types[0]));
    const frames = [Buffer.from(satellite.id), ...ready, Buffer.from("dsat/1"), encode(hello)];
    router.step({ kind: "frontend", frames }, 0);
    if (satellite.draining === true) router.step({ kind: "drain", target: satellite.id, drain: true }, 0);
  }
  for (const target of down) {
    const answer = router.step({ kind: "drain", target, drain: true }, 0);
    if (answer?.ok !== true || (answer.satellites ?? []).length === 0)
      throw new UsageError(`--down ${target}: names no satellite`);
  }
  router.takeEffects(true);
  return router;
}

export function localityCommand(): Command {
  return new Command("locality")
    .description(
      "where a job with these inputs would run, and why: each candidate local (a replica on its host), rack-local or remote (docs/locality.md)",
    )
    .argument("<inputs...>", "one argument per input: its replica addresses, comma-separated")
    .requiredOption("--type <type>", "the job type")
    .option("--topology <file>", "topology JSON file (default: $DSAT_TOPOLOGY or topologies/demo.json)")
    .option("--key <key>", "the job's placement key (CRUSH's order among equals)", "key")
    .option("--down <target>", "take a satellite, host or rack out first (repeatable)", collect, [])
    .option("--live", "the satellites the running orchestrator has registered (default: the declared ones)")
    .option("--json", "print the answer as JSON")
    .action(
      async (
        inputs: string[],
        options: {
          type: string;
          topology?: string;
          key: string;
          down: string[];
          live?: boolean;
          json?: boolean;
        },
      ) => {
        const file = defaultTopologyFile(options.topology);
        const topology = loadTopology(file);
        const fleet = await fleetNow(file, topology, options.live === true);
        const router = offlineRouter(topology, fleet, options.down);
        const list = inputs.map((input) => input.split(",").filter((address) => address !== ""));
        const answer = router.placementNear(options.type, options.key, list);
        if (typeof answer === "string") throw new UsageError(`locality: ${answer}`);
        if (options.json === true) {
          console.log(JSON.stringify(answer, null, 2));
          return;
        }
        const rows = [
          ["#", "satellite", "nearness", "inputs local", "inputs in rack"],
          ...answer.candidates.map((c, i) => [
            String(i + 1),
            c.satellite,
            c.nearness,
            `${c.localInputs}/${list.length}`,
            `${c.rackInputs}/${list.length}`,
          ]),
        ];
        console.log(formatTable(rows, [true, false, false, true, true]).join("\n"));
        console.log(
          `crush order for key ${JSON.stringify(options.key)}: ${answer.crush.join(", ") || "none"}`,
        );
        const first = answer.candidates[0];
        console.log(
          first === undefined
            ? "no candidate: no satellite of the type is placeable"
            : `runs on ${first.satellite} (${first.nearness}); a retry goes to the next line, another failure domain`,
        );
      },
    );
}

interface RebalanceOptions {
  topology?: string;
  live?: boolean;
  dryRun?: boolean;
  maxMoves?: number;
  drain: string[];
  undrain: string[];
  weight: string[];
  score: string[];
  to?: string;
  key: string[];
  keys?: string;
  samples: number;
  json?: boolean;
}

function pairs(values: string[], flag: string, check: (value: number) => boolean): Array<[string, number]> {
  return values.map((value) => {
    const cut = value.lastIndexOf("=");
    const number = Number(value.slice(cut + 1));
    if (cut <= 0 || !check(number)) throw new UsageError(`${flag} ${value}: expected TARGET=NUMBER`);
    return [value.slice(0, cut), number];
  });
}

/** The keys to look at: --key, --keys FILE (one a line), else none (the sample speaks). */
function keysOf(options: RebalanceOptions): string[] {
  const keys = [...options.key];
  if (options.keys !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.keys, "utf8");
    } catch (error) {
      throw new UsageError(`--keys ${options.keys}: ${(error as Error).message}`);
    }
    for (const line of text.split("\n")) if (line.trim() !== "") keys.push(line.trim());
  }
  return keys;
}

export function rebalanceCommand(): Command {
  return new Command("rebalance")
    .description(
      "keyed placement: which keys move from which satellite to which when the fleet changes (a drain, a weight, a score, another topology); --dry-run prints only",
    )
    .argument("[file]", "topology JSON file (default: $DSAT_TOPOLOGY or topologies/demo.json)")
    .option(
      "--live",
      "start from the satellites the running orchestrator has registered (drains and scores included)",
    )
    .option("--drain <target>", "after: these satellites, hosts or racks drained (repeatable)", collect, [])
    .option("--undrain <target>", "after: these undrained (repeatable)", collect, [])
    .option("--weight <target=w>", "after: this CRUSH weight (repeatable)", collect, [])
    .option("--score <target=n>", "after: this score, 0..100 (repeatable)", collect, [])
    .option("--to <file>", "after: the satellites this topology declares")
    .option("--key <key>", "a key to place before and after (repeatable)", collect, [])
    .option("--keys <file>", "keys to place, one a line")
    .option("--samples <n>", "keys 0..n-1 through CRUSH's compare, for the share that moves", count, 10_000)
    .option("--max-moves <n>", "list (and apply) at most this many key moves", count)
    .option(
      "--dry-run",
      "print the plan only; without it the change is sent to the orchestrator and its queued keyed jobs follow their keys (admin)",
    )
    .option("--json", "print the plan as JSON")
    .action(async (fileArgument: string | undefined, options: RebalanceOptions) => {
      const file = defaultTopologyFile(fileArgument);
      const topology = loadTopology(file);
      const apply = options.dryRun !== true;
      if (apply && options.to !== undefined)
        throw new UsageError(
          "rebalance --to: only with --dry-run (a topology edit is applied by restarting)",
        );
      if (apply && options.weight.length > 0)
        throw new UsageError(
          "rebalance --weight: only with --dry-run (weights come with each satellite's READY: restart it with the new weight, then run `dsat rebalance` without a change)",
        );
      // Applying acts on the running orchestrator: the plan starts from its registry.
      const live = options.live === true || apply;
      const before = await fleetNow(file, topology, live);
      const change: FleetChange = {
        drain: options.drain,
        undrain: options.undrain,
        weights: pairs(options.weight, "--weight", (w) => Number.isFinite(w) && w > 0 && w <= 65535),
        scores: pairs(options.score, "--score", (s) => Number.isInteger(s) && s >= 0 && s <= 100),
      };
      let after: FleetSatellite[];
      try {
        after = changedFleet(
          options.to === undefined ? before : declaredSatellites(loadTopology(options.to)),
          change,
        );
      } catch (error) {
        throw new UsageError(`rebalance: ${(error as Error).message}`);
      }
      // Without --key/--keys, --live takes the keys of the jobs the orchestrator holds now.
      let keys = keysOf(options);
      if (keys.length === 0 && options.key.length === 0 && options.keys === undefined && live)
        keys = await liveKeys((request) => adminControl(file, request));
      const plans = planRebalance(topology, before, after, keys, options.samples);
      if (!apply) {
        if (options.json === true) console.log(JSON.stringify(plans, null, 2));
        else process.stdout.write(formatPlans(plans, options.maxMoves));
        return;
      }
      const applied = await applyRebalance(
        (request) => adminControl(file, request),
        change,
        options.maxMoves,
      );
      if (options.json === true) {
        console.log(JSON.stringify({ plans, applied }, null, 2));
        return;
      }
      process.stdout.write(formatPlans(plans, options.maxMoves));
      for (const line of applied.changes) console.log(line);
      console.log(
        `moved ${applied.moves.length} queued jobs to their key's first satellite now` +
          (applied.full > 0 ? `; ${applied.full} stay (that satellite's queue is full)` : "") +
          (applied.left > 0 ? `; ${applied.left} left by --max-moves` : ""),
      );
      for (const move of applied.moves) console.log(`  ${move.id} (${move.key}): ${move.from} -> ${move.to}`);
    });
}

function percent(part: number, whole: number): string {
  return whole === 0 ? "0%" : `${((100 * part) / whole).toFixed(1)}%`;
}

function formatPlans(plans: readonly TypeRebalance[], maxMoves: number | undefined): string {
  const lines: string[] = [];
  for (const plan of plans) {
    const { sample } = plan;
    lines.push(
      `${plan.type}: ${percent(plan.sampleFirstMoved, sample.inputs)} of ${sample.inputs} sample keys change their first satellite; ${percent(sample.replicasMoved, sample.replicas)} of their candidates move`,
    );
    if (plan.keys === 0) continue;
    lines.push(`  ${plan.moves.length} of ${plan.keys} keys move`);
    if (plan.flows.length > 0) {
      const rows = [["  from", "to", "keys"]];
      for (const flow of plan.flows) rows.push([`  ${flow.from ?? "-"}`, flow.to ?? "-", String(flow.keys)]);
      lines.push(...formatTable(rows, [false, false, true]));
    }
    const listed = maxMoves === undefined ? plan.moves : plan.moves.slice(0, maxMoves);
    for (const move of listed) lines.push(`  ${move.key}: ${move.from ?? "-"} -> ${move.to ?? "-"}`);
    if (listed.length < plan.moves.length)
      lines.push(`  (${plan.moves.length - listed.length} more moves past --max-moves ${maxMoves})`);
  }
  return `${lines.join("\n")}\n`;
}
