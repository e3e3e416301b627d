// crushha's audit log: every decision the rule interpreter takes for one input, so an operator
// can see why x landed where it did. The mapper calls a tracer only when one is given.
import type { RuleStep } from "./types.ts";

export type RejectReason = "collision" | "out" | "no leaf" | "empty bucket";

export interface MappingTracer {
  /** A rule step starts; `working` is the working vector before it. */
  step(index: number, step: RuleStep, working: number[]): void;
  /** choose(bucket, x, r) returned `item` (`fallback`: the legacy permutation fallback). */
  draw(bucketId: number, r: number, item: number, fallback: boolean): void;
  /** The item drawn was refused; the search retries (total and local failure counts given). */
  reject(
    bucketId: number,
    item: number,
    reason: RejectReason,
    failuresTotal: number,
    failuresLocal: number,
  ): void;
  /** A replica position was given up (firstn results get shorter). */
  giveUp(rep: number, why: string): void;
  /** A position was filled. */
  chosen(position: number, item: number): void;
  /** emit flushed the working vector; `result` is the whole result so far. */
  emit(result: number[]): void;
}

export type TraceEvent =
  | { kind: "step"; index: number; step: RuleStep; working: number[] }
  | { kind: "draw"; bucketId: number; r: number; item: number; fallback: boolean }
  | {
      kind: "reject";
      bucketId: number;
      item: number;
      reason: RejectReason;
      failuresTotal: number;
      failuresLocal: number;
    }
  | { kind: "give-up"; rep: number; why: string }
  | { kind: "chosen"; position: number; item: number }
  | { kind: "emit"; result: number[] };

/** A tracer that records every event in order. */
export class RecordingTracer implements MappingTracer {
  readonly events: TraceEvent[] = [];
  step(index: number, step: RuleStep, working: number[]): void {
    this.events.push({ kind: "step", index, step, working });
  }
  draw(bucketId: number, r: number, item: number, fallback: boolean): void {
    this.events.push({ kind: "draw", bucketId, r, item, fallback });
  }
  reject(
    bucketId: number,
    item: number,
    reason: RejectReason,
    failuresTotal: number,
    failuresLocal: number,
  ): void {
    this.events.push({ kind: "reject", bucketId, item, reason, failuresTotal, failuresLocal });
  }
  giveUp(rep: number, why: string): void {
    this.events.push({ kind: "give-up", rep, why });
  }
  chosen(position: number, item: number): void {
    this.events.push({ kind: "chosen", position, item });
  }
  emit(result: number[]): void {
    this.events.push({ kind: "emit", result });
  }
}
