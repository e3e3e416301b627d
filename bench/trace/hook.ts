// Preload (--import): records every send() call and every receive() resolution with
// process.hrtime (CLOCK_MONOTONIC, comparable across processes on one machine).
import { writeFileSync } from "node:fs";
import { Socket } from "zeromq";

const role = process.env.TRACE_ROLE ?? `p${process.pid}`;
const dir = process.env.TRACE_DIR ?? "/tmp";
const times: number[] = [];
const labels: string[] = [];
const now = () => Number(process.hrtime.bigint()) / 1000; // µs

function label(kind: string, socket: object, frames: unknown): string {
  const list = Array.isArray(frames) ? (frames as Buffer[]) : [frames as Buffer];
  const name = socket.constructor.name;
  // skip routing id on ROUTER
  const body = name === "Router" ? list.slice(1) : list;
  const proto = body[1]?.toString?.("latin1") ?? "";
  let what = proto;
  if (proto === "MDPW01") what = `W${body[2]?.[0]}`;
  else if (proto === "MDPC01") what = `C`;
  else what = "raw";
  return `${kind} ${name} ${what} ${body.length}`;
}

export function mark(what: string): void {
  times.push(now());
  labels.push(what);
}
(globalThis as { __traceMark?: typeof mark }).__traceMark = mark;

// setImmediate: when a callback was asked for and when it ran.
const realSetImmediate = globalThis.setImmediate;
(globalThis as { setImmediate: unknown }).setImmediate = (
  callback: (...args: unknown[]) => void,
  ...args: unknown[]
) => {
  times.push(now());
  labels.push("imm-ask");
  return realSetImmediate(() => {
    times.push(now());
    labels.push("imm-run");
    callback(...args);
  });
};

const proto = Socket.prototype as unknown as {
  send: (...args: unknown[]) => Promise<void>;
  receive: () => Promise<Buffer[]>;
};
const send = proto.send;
Object.defineProperty(proto, "send", {
  configurable: true,
  writable: true,
  value(this: object, ...args: unknown[]) {
    times.push(now());
    labels.push(label("send", this, args[0]));
    messages++;
    if (firstAt === 0) firstAt = now();
    return send.apply(this, args);
  },
});
const receive = proto.receive;
Object.defineProperty(proto, "receive", {
  configurable: true,
  writable: true,
  value(this: object) {
    return receive.call(this).then((frames: Buffer[]) => {
      times.push(now());
      labels.push(label("recv", this, frames));
      messages++;
      return frames;
    });
  },
});
// CPU used from 2 s after the first message on (start-up and JIT warm-up left out), per message.
let cpu0: NodeJS.CpuUsage | null = null;
let messages0 = 0;
let messages = 0;
let firstAt = 0;
const cpuTimer = setInterval(() => {
  if (cpu0 === null && firstAt > 0 && now() - firstAt > 2_000_000) {
    cpu0 = process.cpuUsage();
    messages0 = messages;
  }
}, 5);
cpuTimer.unref();
if (role === "server" || role === "worker") process.on("SIGTERM", () => process.exit(0));
process.on("exit", () => {
  if (cpu0 !== null) {
    const cpu = process.cpuUsage(cpu0);
    const n = messages - messages0;
    times.push(now());
    labels.push(
      `cpu/event ${((cpu.user + cpu.system) / n).toFixed(1)}µs (user ${(cpu.user / n).toFixed(1)}) per message sent or received, over ${n}`,
    );
  }
  const lines = times.map((t, i) => `${t.toFixed(1)}\t${role}\t${labels[i]}`);
  writeFileSync(`${dir}/${role}-${process.pid}.tsv`, `${lines.join("\n")}\n`);
});

// Marks around the runtime's own methods: "<name>>" when one starts, "<name><" when it returns.
function wrap(target: Record<string, unknown>, names: string[], prefix: string): void {
  for (const name of names) {
    const original = target[name] as (...args: unknown[]) => unknown;
    if (typeof original !== "function") continue;
    target[name] = function (this: unknown, ...args: unknown[]) {
      times.push(now());
      labels.push(`${prefix}.${name}>`);
      const result = original.apply(this, args);
      times.push(now());
      labels.push(`${prefix}.${name}<`);
      return result;
    };
  }
}
if (process.env.TRACE_METHODS === "1") {
  // The source tree the process runs (TRACE_TREE), so the marks land on the classes it uses.
  const src = process.env.TRACE_TREE === undefined ? "../../src" : `${process.env.TRACE_TREE}/src`;
  if (role === "client") {
    const { Client } = await import(`${src}/client/client.ts`);
    wrap(Client.prototype as never, ["onReply", "request", "flush"], "client");
  } else if (role === "sat") {
    const { SatelliteRuntime } = await import(`${src}/satellite/satellite.ts`);
    wrap(SatelliteRuntime.prototype as never, ["onMessage", "startJob", "finishJob", "flush"], "sat");
    // Since the runtime was split, jobs run in JobRunner and replies leave from ReplyOutbox (same
    // marks); an older TRACE_TREE has neither file.
    const runner = await import(`${src}/satellite/job-runner.ts`).catch(() => null);
    if (runner !== null) wrap(runner.JobRunner.prototype as never, ["startJob", "finishJob"], "sat");
    const outbox = await import(`${src}/satellite/reply-outbox.ts`).catch(() => null);
    if (outbox !== null) wrap(outbox.ReplyOutbox.prototype as never, ["flush"], "sat");
  } else if (role === "orch") {
    const { Orchestrator } = await import(`${src}/orchestrator/orchestrator.ts`);
    const { JobRouter } = await import(`${src}/orchestrator/router/router.ts`);
    wrap(Orchestrator.prototype as never, ["step", "performEffects"], "shell");
    wrap(JobRouter.prototype as never, ["step", "takeEffects"], "router");
  }
}
