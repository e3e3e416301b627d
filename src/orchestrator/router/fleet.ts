// Operator drain (OpenIO's decommission, docs/operations.md): the satellites a target names take no
// new jobs; running ones finish, queued ones move to the next CRUSH candidates, waiting ones go
// elsewhere. The target stays drained, so a satellite that restarts on a drained host is drained
// again at READY, until `undrain`.
import type { SatelliteInfo } from "../registry.ts";
import { pumpQueue, updatePlaceable } from "./dispatch.ts";
import { runEffects } from "./outcomes.ts";
import { requeueQueued } from "./satellites.ts";
import type { RouterState } from "./state.ts";

/** Whether `target` names `satellite`: its id, a location value ("r1") or "level=name". */
export function targetNames(target: string, satellite: SatelliteInfo): boolean {
  if (target === satellite.id) return true;
  const at = target.indexOf("=");
  if (at < 0) return satellite.location.some(([, name]) => name === target);
  const level = target.slice(0, at);
  const name = target.slice(at + 1);
  return satellite.location.some(([l, n]) => l === level && n === name);
}

/** Drained by some target now in force (a satellite registering). */
export function drainedTarget(r: RouterState, satellite: SatelliteInfo): string | undefined {
  for (const target of r.drainedTargets) if (targetNames(target, satellite)) return target;
  return undefined;
}

export function drain(
  r: RouterState,
  target: string,
  on: boolean,
): { ok: boolean; satellites?: string[]; error?: string } {
  if (target === "") return { ok: false, error: "name a satellite id, a host, a rack, or level=name" };
  if (on) r.drainedTargets.add(target);
  else r.drainedTargets.delete(target);
  const named: string[] = [];
  const now = r.now;
  for (const satellite of [...r.registry.all()]) {
    if (!targetNames(target, satellite)) continue;
    named.push(satellite.id);
    const drained = on || drainedTarget(r, satellite) !== undefined;
    if (satellite.drained === drained) continue;
    satellite.drained = drained;
    updatePlaceable(r, satellite);
    if (drained) {
      r.publishEvent("satellite.draining", { satellite: satellite.id, by: "operator", target });
      requeueQueued(r, satellite, now);
    } else {
      r.publishEvent("satellite.undrained", { satellite: satellite.id, target });
      pumpQueue(r, satellite, now);
    }
  }
  r.log(
    `orchestrator: ${on ? "drain" : "undrain"} ${target}: ${named.length} satellites (${named.join(", ")})`,
  );
  runEffects(r, now);
  return { ok: true, satellites: named };
}
