// Operators' decisions that outlive a restart and a change of leader (docs/operations.md): a
// drain, a score lock, a live setting is applied at once and, with a journal, written as an
// operator record. A replay (a restart's, or a new leader's from the replicated book) applies the
// decisions in force again, in order, before any job runs.
import { OPERATOR_DECISIONS_MAX, type OperatorRecord } from "../../journal/core.ts";
import { drain } from "./fleet.ts";
import { setLiveConfig } from "./live-config.ts";
import { lockScore } from "./scores.ts";
import type { RouterState } from "./state.ts";

/** Keeps a decision (replacing an earlier one on the same thing) and journals it. */
function decided(r: RouterState, record: OperatorRecord): void {
  const decisions = r.operatorDecisions;
  decisions.delete(record.id);
  decisions.set(record.id, record);
  if (decisions.size > OPERATOR_DECISIONS_MAX) decisions.delete(decisions.keys().next().value as string);
  if (r.durable) r.append(record);
}

export function drainDecided(r: RouterState, target: string, on: boolean): ReturnType<typeof drain> {
  const result = drain(r, target, on);
  if (result.ok)
    decided(r, {
      k: "operator",
      id: `drain:${target}`,
      command: on ? "drain" : "undrain",
      target,
      value: null,
    });
  return result;
}

/** Locks are kept per satellite id, so a replay finds them before the satellites register. */
export function scoreLockDecided(
  r: RouterState,
  target: string,
  score: number | null,
): ReturnType<typeof lockScore> {
  const result = lockScore(r, target, score);
  if (!result.ok) return result;
  const ids = result.satellites !== undefined && result.satellites.length > 0 ? result.satellites : [target];
  for (const id of ids)
    decided(r, {
      k: "operator",
      id: `score:${id}`,
      command: score === null ? "score-unlock" : "score-lock",
      target: id,
      value: score,
    });
  return result;
}

export function configDecided(r: RouterState, key: string, value: unknown): ReturnType<typeof setLiveConfig> {
  const result = setLiveConfig(r, key, value);
  if (result.ok)
    decided(r, { k: "operator", id: `config:${key}`, command: "config-set", target: key, value });
  return result;
}

/** Applies the decisions of a replay, in order (not journaled again: they are). */
export function replayDecisions(r: RouterState, records: readonly OperatorRecord[]): void {
  for (const record of records) {
    const applied =
      record.command === "drain" || record.command === "undrain"
        ? drain(r, record.target, record.command === "drain")
        : record.command === "config-set"
          ? setLiveConfig(r, record.target, record.value)
          : lockScore(r, record.target, typeof record.value === "number" ? record.value : null);
    if (!applied.ok) {
      r.log(
        `orchestrator: replayed decision ${record.command} ${record.target} no longer applies: ${applied.error}`,
      );
      continue;
    }
    r.operatorDecisions.set(record.id, record);
  }
}
