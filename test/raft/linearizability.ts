// A linearizability checker for key/value histories (docs/raft.md, "Testing"): Wing & Gong's search with
// Lowe's improvements (the history as a linked list of call and return events, lifting an operation out
// when it is linearized, and a memo of (linearized set, state) already explored), split per key: the
// store is a set of independent registers, and a history is linearizable iff each key's sub-history is
// (P-compositionality, Horn & Kroening 2015).
//
// An operation without a response (pending: a timeout, a crash, an unknown outcome) may take effect at any
// time after its call, or never; its output is unknown. Giving it a return time of +infinity says exactly
// that, since an operation with no observable output placed after everything else changes nothing.
//
// It lives with the tests: nothing in the product needs it, and keeping it here keeps src/ free of code
// that no running process uses.

export type KvInput =
  | { readonly kind: "put"; readonly key: string; readonly value: string }
  | { readonly kind: "append"; readonly key: string; readonly value: string }
  | { readonly kind: "get"; readonly key: string };

export interface KvOperation {
  readonly client: string | number;
  readonly input: KvInput;
  /** Invocation time. */
  readonly call: number;
  /** Response time; undefined while pending (the outcome is unknown). */
  readonly ret?: number;
  /** For a completed get: the value read (null: unset). Ignored for pending operations. */
  readonly output?: string | null;
}

export interface CheckOptions {
  /** Search steps per key before giving up ("unknown"); bounds the time of a pathological history. */
  stepsMax?: number;
}

export type CheckResult =
  | { readonly ok: true; readonly steps: number }
  | { readonly ok: false; readonly key: string; readonly steps: number; readonly report: string }
  | { readonly ok: "unknown"; readonly key: string; readonly steps: number };

/** The register model: put sets, append concatenates (onto "" when unset), get reads. */
function stepModel(
  state: string | null,
  op: KvOperation,
  pending: boolean,
): { ok: boolean; state: string | null } {
  switch (op.input.kind) {
    case "put":
      return { ok: true, state: op.input.value };
    case "append":
      return { ok: true, state: (state ?? "") + op.input.value };
    case "get":
      return { ok: pending || op.output === state, state };
  }
}

interface Event {
  op: number;
  isCall: boolean;
  time: number;
  /** The call's matching return event. */
  match: Event | null;
  prev: Event | null;
  next: Event | null;
}

/** Checks the whole history, one key at a time. */
export function checkKvHistory(history: readonly KvOperation[], options: CheckOptions = {}): CheckResult {
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    // A read without a response constrains nothing and changes nothing: leaving it out saves the search
    // from placing it everywhere.
    if (op.input.kind === "get" && op.ret === undefined) continue;
    if (op.ret !== undefined && op.ret < op.call)
      throw new Error(`operation returns before its call: ${format(op)}`);
    const ops = byKey.get(op.input.key);
    if (ops === undefined) byKey.set(op.input.key, [op]);
    else ops.push(op);
  }
  let steps = 0;
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const result = checkKey(key, withoutUnobservedPending(ops), options.stepsMax ?? 2_000_000);
    steps += result.steps;
    if (result.ok !== true) return { ...result, steps };
  }
  return { ok: true, steps };
}

/**
 * A pending write whose value no read ever saw can be placed after everything else, where it changes
 * nothing: the same as leaving it out. Left in, the search would try it at every point (with many of
 * them, exponentially). "Saw" is conservative: the value occurs in some value read (appends may follow).
 */
function withoutUnobservedPending(ops: readonly KvOperation[]): KvOperation[] {
  const read: string[] = [];
  for (const op of ops) if (op.input.kind === "get" && typeof op.output === "string") read.push(op.output);
  return ops.filter((op) => {
    if (op.ret !== undefined || op.input.kind === "get") return true;
    // A put's value may be read with appends after it: any read containing it counts.
    const value = op.input.value;
    return read.some((output) => output.includes(value));
  });
}

function checkKey(key: string, ops: readonly KvOperation[], stepsMax: number): CheckResult {
  // Events sorted by time; at equal times calls come first, so touching intervals count as concurrent.
  const events: Event[] = [];
  ops.forEach((op, i) => {
    const call: Event = { op: i, isCall: true, time: op.call, match: null, prev: null, next: null };
    const ret: Event = {
      op: i,
      isCall: false,
      time: op.ret ?? Number.POSITIVE_INFINITY,
      match: null,
      prev: null,
      next: null,
    };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.op - b.op);
  const head: Event = { op: -1, isCall: false, time: 0, match: null, prev: null, next: null };
  let previous = head;
  for (const event of events) {
    previous.next = event;
    event.prev = previous;
    previous = event;
  }
  const lift = (call: Event) => {
    for (const e of [call, call.match as Event]) {
      (e.prev as Event).next = e.next;
      if (e.next !== null) e.next.prev = e.prev;
    }
  };
  const unlift = (call: Event) => {
    for (const e of [call.match as Event, call]) {
      (e.prev as Event).next = e;
      if (e.next !== null) e.next.prev = e;
    }
  };

  const words = Math.ceil(ops.length / 32);
  const linearized = new Uint32Array(words);
  // The memo: configurations (linearized set, state) already explored from, bucketed by a hash.
  const seen = new Map<string, Array<{ bits: Uint32Array; state: string | null }>>();
  const remember = (state: string | null): boolean => {
    const hashKey = `${hashBits(linearized)}|${state === null ? "\u0000" : state}`;
    const bucket = seen.get(hashKey);
    if (bucket === undefined) {
      seen.set(hashKey, [{ bits: linearized.slice(), state }]);
      return true;
    }
    for (const item of bucket) if (item.state === state && sameBits(item.bits, linearized)) return false;
    bucket.push({ bits: linearized.slice(), state });
    return true;
  };

  const stack: Array<{ call: Event; state: string | null }> = [];
  let state: string | null = null;
  let entry = head.next;
  let steps = 0;
  let deepest = 0;
  let stuckAt: Event | null = null;
  while (head.next !== null) {
    steps += 1;
    if (steps > stepsMax) return { ok: "unknown", key, steps };
    if (entry === null) throw new Error("linearizability: ran off the event list");
    if (entry.isCall) {
      const op = ops[entry.op];
      const result = stepModel(state, op, op.ret === undefined);
      let advanced = false;
      if (result.ok) {
        linearized[entry.op >> 5] |= 1 << (entry.op & 31);
        if (remember(result.state)) {
          stack.push({ call: entry, state });
          state = result.state;
          lift(entry);
          entry = head.next;
          advanced = true;
          if (stack.length > deepest) {
            deepest = stack.length;
            stuckAt = null;
          }
        } else {
          linearized[entry.op >> 5] &= ~(1 << (entry.op & 31));
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      // A return: the operation must have taken effect before it; undo the last choice.
      if (stack.length === deepest && stuckAt === null) stuckAt = entry;
      const top = stack.pop();
      if (top === undefined) return { ok: false, key, steps, report: explain(key, ops, deepest, stuckAt) };
      state = top.state;
      linearized[top.call.op >> 5] &= ~(1 << (top.call.op & 31));
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return { ok: true, steps };
}

function hashBits(bits: Uint32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bits.length; i += 1) h = Math.imul(h ^ bits[i], 16777619);
  return h >>> 0;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

export function format(op: KvOperation): string {
  const ret = op.ret === undefined ? "pending" : String(op.ret);
  const input =
    op.input.kind === "get"
      ? `get ${op.input.key} -> ${op.ret === undefined ? "?" : JSON.stringify(op.output ?? null)}`
      : `${op.input.kind} ${op.input.key} ${JSON.stringify(op.input.value)}`;
  return `[${op.call}, ${ret}] ${op.client}: ${input}`;
}

function explain(key: string, ops: readonly KvOperation[], deepest: number, stuckAt: Event | null): string {
  const stuck = stuckAt === null ? "" : `; no order lets this one complete: ${format(ops[stuckAt.op])}`;
  const sorted = [...ops].sort((a, b) => a.call - b.call);
  const shown = sorted.length <= 30 ? sorted : sorted.slice(0, 30);
  return (
    `key ${JSON.stringify(key)}: not linearizable (${ops.length} operations, at most ${deepest} ordered${stuck})\n  ` +
    shown.map(format).join("\n  ") +
    (sorted.length > shown.length ? `\n  ... ${sorted.length - shown.length} more` : "")
  );
}
