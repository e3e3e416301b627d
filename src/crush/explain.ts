// `dsat crush explain`: one mapping, decision by decision (crushha's annotated audit log).
import { defaultChooseArgs, Mapper } from "./mapper.ts";
import { describeStep } from "./rule-builder.ts";
import { RecordingTracer, type TraceEvent } from "./trace.ts";
import { type CrushMap, ITEM_NONE } from "./types.ts";

export interface Explanation {
  ruleId: number;
  x: number;
  numRep: number;
  result: number[];
  events: TraceEvent[];
}

export function explainMapping(
  map: CrushMap,
  ruleId: number,
  x: number,
  numRep: number,
  reweights: ArrayLike<number>,
): Explanation {
  if (map.rules[ruleId] === undefined) throw new RangeError(`the map has no rule ${ruleId}`);
  const tracer = new RecordingTracer();
  const result = new Mapper(map, defaultChooseArgs(map)).map(ruleId, x, numRep, reweights, tracer);
  return { ruleId, x, numRep, result, events: tracer.events };
}

/** The audit log as text, one decision per line, indented under the step that took it. */
export function formatExplanation(map: CrushMap, explanation: Explanation): string {
  const name = (item: number) =>
    item === ITEM_NONE
      ? "NONE"
      : `${map.itemNames.get(item) ?? (item >= 0 ? `osd.${item}` : "bucket")}(${item})`;
  const ruleName = map.ruleNames.get(explanation.ruleId) ?? "";
  const lines = [`rule ${explanation.ruleId} (${ruleName}) x ${explanation.x} num_rep ${explanation.numRep}`];
  for (const event of explanation.events) {
    switch (event.kind) {
      case "step":
        lines.push(
          `step ${event.index}: ${describeStep(event.step, map)}   working [${event.working.map(name).join(", ")}]`,
        );
        break;
      case "draw":
        lines.push(
          `  draw    ${name(event.bucketId)} r=${event.r} -> ${name(event.item)}${event.fallback ? " (local fallback permutation)" : ""}`,
        );
        break;
      case "reject":
        lines.push(
          `  reject  ${event.item === -1 ? "" : `${name(event.item)} `}in ${name(event.bucketId)}: ${event.reason} (failures: total ${event.failuresTotal + 1}, here ${event.failuresLocal + 1})`,
        );
        break;
      case "give-up":
        lines.push(`  give up position ${event.rep}: ${event.why}`);
        break;
      case "chosen":
        lines.push(`  chosen  position ${event.position} = ${name(event.item)}`);
        break;
      case "emit":
        lines.push(`  emit    result [${event.result.map(name).join(", ")}]`);
        break;
    }
  }
  lines.push(`result [${explanation.result.join(",")}]`);
  return `${lines.join("\n")}\n`;
}
