// What `status`, `jobs`, `stats` and `candidates` print: a few fields of the router's read-only
// snapshots, one line each.
import { hashKey } from "../../../src/crush/index.ts";
import { TypePlacement } from "../../../src/orchestrator/index.ts";
import type { JobRouter } from "../../../src/orchestrator/router/router.ts";
import { scriptInputs } from "./script-frames.ts";

export function statusLines(router: JobRouter, journal: { appended: number; committed: number }): string[] {
  const status = router.status();
  const where = status.diskSpill === null ? "memory" : "disk";
  const lines = [
    `jobs held=${status.jobs.inFlight} queued=${status.jobs.waiting} waiting=${status.waiting.jobs} (${where}) heldBytes=${status.heldBytes}`,
  ];
  for (const satellite of status.satellites)
    lines.push(
      `satellite ${satellite.id} inFlight=${satellite.inFlight} queued=${satellite.queued} done=${satellite.done} failed=${satellite.failed}${satellite.draining ? " draining" : ""}`,
    );
  const open = status.tracker.breakersOpen as string[];
  if (open.length > 0) lines.push(`breakers open ${open.join(",")}`);
  const counters = nonZero(status.counters as unknown as Record<string, unknown>);
  lines.push(`counters ${counters.length > 0 ? counters.join(" ") : "-"}`);
  if (status.journal !== null) {
    const { finishedKept, recovered, error } = status.journal;
    const failed = error !== undefined ? ` error=${JSON.stringify(error)}` : "";
    lines.push(
      `journal finishedKept=${finishedKept} recovered=${recovered}${failed} appended=#${journal.appended} committed=#${journal.committed}`,
    );
  }
  return lines;
}

/** `scores`: each satellite's score, lock and last load (scores.ts): "s1 score=60 locked load=2/0/100ms/0". */
export function scoreLines(router: JobRouter): string[] {
  const status = router.status();
  const lines = status.satellites.map((satellite) => {
    const load = satellite.load as Record<string, number> | null;
    const loadText =
      load === null ? "" : ` load=${load.inFlight}/${load.queued}/${load.lagMs}ms/${load.errorRate}`;
    return `${satellite.id} score=${satellite.score}${satellite.scoreLocked === true ? " locked" : ""}${loadText}`;
  });
  if (status.counters.badLoads > 0) lines.push(`badLoads=${status.counters.badLoads}`);
  return lines.length > 0 ? lines : ["no satellites"];
}

/** Live and kept jobs, by id. */
export function jobLines(router: JobRouter): string[] {
  const { jobs } = router.listJobs({}, { limit: 1000, after: null });
  if (jobs.length === 0) return ["no jobs"];
  return jobs
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((job) => {
      const on = job.satellite !== null ? ` on=${job.satellite}` : "";
      const message = job.message !== null ? ` ${JSON.stringify(job.message)}` : "";
      return `${job.id} ${job.type} ${job.phase} ${job.state} attempt=${job.attempt}${on}${message}`;
    });
}

/** A type's tracker stats (latencies left out). */
export function statsLines(router: JobRouter, type: string): string[] {
  const stats = router.status().stats[type];
  if (stats === undefined) return [`no stats for ${type}`];
  return [
    Object.entries(stats)
      .filter(([key]) => !key.startsWith("latency"))
      .map(([key, value]) => `${key}=${value}`)
      .join(" "),
  ];
}

/**
 * A type's CRUSH candidates for a key, every member placeable: the order retries and reroutes go
 * down. Built as the router builds its placements, from the registry's members.
 */
export function candidateLines(router: JobRouter, type: string, key: string): string[] {
  const typeConfig = router.config.types.get(type);
  if (typeConfig === undefined) return [`no type ${type}`];
  const registry = router.registry;
  const members = registry.membersOf(type).map((member) => ({ ...member, placeable: true }));
  if (members.length === 0) return [`no members of ${type}`];
  const placement = new TypePlacement(
    type,
    router.config.hierarchy,
    { replicas: typeConfig.replicas, failureDomain: typeConfig.failureDomain, rule: typeConfig.rule },
    members,
    16,
    registry.bucketIdOf,
  );
  return [`${type} ${key}: ${placement.candidates(hashKey(key)).join(" ")}`];
}

/**
 * `near TYPE KEY inputs=a,b;c`: where such a job would go now (placeable satellites), best first,
 * each with its nearness and its local/rack inputs; then CRUSH's own list for the key.
 */
export function nearLines(
  router: JobRouter,
  type: string,
  key: string,
  inputs: string | undefined,
): string[] {
  const answer = router.placementNear(type, key, scriptInputs(inputs ?? ""));
  if (typeof answer === "string") return [`no answer: ${answer}`];
  return [
    ...answer.candidates.map(
      (c) => `${c.satellite} ${c.nearness} local=${c.localInputs} rack=${c.rackInputs}`,
    ),
    `crush: ${answer.crush.join(" ")}`,
  ];
}

/** `locality`: jobs (and inputs) sent local, rack-local, remote. */
export function localityLines(router: JobRouter): string[] {
  const l = router.counters.locality;
  return [
    `jobs local=${l.local} rack=${l.rack} remote=${l.remote}`,
    `inputs local=${l.inputsLocal} rack=${l.inputsRack} remote=${l.inputsRemote}`,
  ];
}

/** Non-zero counters, flattened (`security.foreignJobRefused=1`). */
function nonZero(counters: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(counters)) {
    if (typeof value === "number" && value !== 0) out.push(`${prefix}${key}=${value}`);
    else if (typeof value === "object" && value !== null)
      out.push(...nonZero(value as Record<string, unknown>, `${prefix}${key}.`));
  }
  return out;
}
