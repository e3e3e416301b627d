// The satellites in the simulation: each process started, registered (READY) and heartbeating on
// its connection, its jobs run for service times drawn from the scenario, then acked and answered
// per turn with src/protocol's frames (REQUEST-BATCH in, ACK-BATCH and REPLY-BATCH out), drained
// and restarted. Their events (kill, hang, ...) are applied in simulation.ts.
import {
  ackBatchFrames,
  BATCH_ENTRIES_MAX,
  BATCH_FLUSH_ENTRIES,
  encode,
  isJobEntry,
  jobReplyBatchFrames,
  jobReplyFrames,
  parseJobRequest,
  splitBatch,
  WorkerCommand,
  workerCommandFrames,
  workerReadyFrames,
} from "../protocol/index.ts";
import { type SatelliteInstance, satelliteInstances, type Topology } from "../topology/index.ts";
import { DEFAULT_SERVICE, type RunningJob, type SimClient, SimSatellite } from "./actors.ts";
import { OrchestratorShell } from "./orchestrator-shell.ts";
import { draw } from "./random.ts";
import type { Session } from "./replicated.ts";
import type { ServiceSpec } from "./scenario.ts";
import { splitToken } from "./support.ts";

/** A type the scenario says nothing about (shared, never written: read per job). */
const NO_SERVICE: ServiceSpec = Object.freeze({});
/** A simulated job's result payloads, encoded once (they are the same bytes for every job). */
const DONE_PAYLOAD = encode("done");
const FAILED_PAYLOAD = encode(null);

/** The topology's satellites; a type without a module still gets them (nothing is started). */
export function instancesOf(topology: Topology): SatelliteInstance[] {
  return satelliteInstances({
    ...topology,
    types: Object.fromEntries(
      Object.entries(topology.types).map(([name, type]) => [
        name,
        { ...type, module: type.module ?? "(simulated)" },
      ]),
    ),
  });
}

export abstract class SatelliteProcesses extends OrchestratorShell {
  protected readonly satellites: SimSatellite[] = [];
  /** Job type -> key -> the satellite that last served it (a keyed job served elsewhere moved). */
  protected readonly keyOwner = new Map<string, Map<string, string>>();

  /** A peer without a connection reconnects (client-load.ts): replicated, to whichever node serves. */
  protected abstract reconnect(peer: SimSatellite | SimClient, firstTryMs: number): void;

  protected addSatellite(
    id: string,
    type: string,
    host: string,
    location: Array<[string, string]>,
    capacity: number,
    weight: number,
  ): SimSatellite {
    const satellite = new SimSatellite(id, type, host, location, capacity, weight, this.linkMsTo(location));
    if (this.replicated) satellite.linksMs = this.nodes.map((node) => this.linkMsTo(location, node.location));
    for (const override of this.scenario.satellites ?? []) {
      if (!satellite.in(override.target)) continue;
      if (override.time !== undefined) satellite.time = override.time;
      if (override.slowdown !== undefined) satellite.slowdown = override.slowdown;
      if (override.failureRate !== undefined) satellite.failureRate = override.failureRate;
      if (override.hangRate !== undefined) satellite.hangRate = override.hangRate;
      if (override.startMs !== undefined) satellite.startMs = override.startMs;
    }
    this.satellites.push(satellite);
    return satellite;
  }

  protected startSatellites(): void {
    for (const instance of instancesOf(this.topology)) {
      const satellite = this.addSatellite(
        instance.id,
        instance.type,
        instance.host,
        instance.location,
        instance.concurrency,
        instance.weight,
      );
      // Processes start within the first 50 ms, in no particular order, unless the scenario says
      // when (the order they register in sets the CRUSH device ids, so which keys land where).
      const at = this.random.next() * 50;
      this.queue.at(satellite.startMs ?? at, () => this.startProcess(satellite));
    }
  }

  /** A new satellite process: a new incarnation on a new connection, READY, then its heartbeats. */
  protected startProcess(satellite: SimSatellite): void {
    satellite.state = "up";
    satellite.incarnations++;
    satellite.generation++;
    satellite.running.clear();
    satellite.waiting = [];
    satellite.deferred = [];
    satellite.replies = [];
    satellite.replyPayloads = [];
    satellite.unacked = [];
    this.connect(satellite);
    const generation = satellite.generation;
    const beat = () => {
      if (satellite.generation !== generation || satellite.state === "dead" || satellite.state === "stopped")
        return;
      this.queue.after(this.heartbeatMs, beat);
      if (satellite.state === "hung") return;
      if (satellite.session === null) return; // replicated: reconnecting to whichever node serves
      if (this.queue.now - satellite.lastHeard > this.heartbeatMs * this.liveness) {
        // The orchestrator went silent: reconnect, same incarnation (its jobs may carry on).
        this.connect(satellite);
        return;
      }
      this.satelliteSend(satellite, workerCommandFrames(WorkerCommand.heartbeat));
    };
    this.queue.after(this.random.next() * this.heartbeatMs, beat);
  }

  protected connect(satellite: SimSatellite): void {
    if (this.replicated) {
      satellite.session = null;
      this.reconnect(satellite, 0);
      return;
    }
    this.attach(satellite, this.session);
  }

  /** A new connection to `session`'s orchestrator: a new route, READY. */
  protected attach(satellite: SimSatellite, session: Session): void {
    satellite.session = session;
    if (session.node !== null) satellite.linkMs = satellite.linksMs[session.node.index];
    satellite.connection++;
    satellite.route = Buffer.from(`${satellite.id}~${satellite.connection}`);
    this.peers.set(satellite.route.toString("latin1"), { satellite, connection: satellite.connection });
    satellite.lastHeard = this.queue.now;
    satellite.lastUp = 0;
    satellite.lastDown = 0;
    this.satelliteSend(
      satellite,
      workerReadyFrames(satellite.type, {
        id: satellite.id,
        types: [satellite.type],
        location: satellite.location,
        capacity: satellite.capacity,
        weight: satellite.weight,
        batch: true,
        heartbeatMs: this.heartbeatMs,
        incarnation: `${satellite.id}.${satellite.incarnations}`,
      }),
    );
  }

  protected satelliteSend(satellite: SimSatellite, frames: Buffer[]): void {
    if (satellite.partitioned || satellite.state === "dead" || satellite.state === "stopped") return;
    // Replicated, between connections: nothing to send on (the new leader never dispatched it).
    const session = satellite.session;
    if (session === null) return;
    const at = Math.max(this.queue.now + this.linkDelay(satellite.linkMs), satellite.lastUp);
    satellite.lastUp = at;
    const message = [satellite.route, ...frames];
    this.queue.at(at, () => this.arriveFrom(session, { kind: "frontend", frames: message }));
  }

  protected satelliteReceive(satellite: SimSatellite, connection: number, frames: Buffer[]): void {
    if (satellite.connection !== connection || satellite.state === "dead" || satellite.state === "stopped")
      return;
    if (satellite.state === "hung") {
      satellite.deferred.push(() => this.satelliteReceive(satellite, connection, frames));
      return;
    }
    satellite.lastHeard = this.queue.now;
    const message = frames.slice(1);
    switch (message[2]?.[0]) {
      case WorkerCommand.request: {
        const job = parseJobRequest(message);
        if (job === null) return;
        const [jobId, attempt] = splitToken(job.address.toString());
        this.startJob(satellite, jobId, attempt, job.header.type, job.header.k ?? null, job.address);
        return;
      }
      case WorkerCommand.requestBatch: {
        const batch = splitBatch(message[3], message[4], isJobEntry, (entry) => entry[3], BATCH_ENTRIES_MAX);
        if (typeof batch === "string") return;
        for (const [id, attempt, type, , , , key] of batch.entries)
          this.startJob(satellite, id, attempt, type, key, null);
        this.flushSatellite(satellite);
        return;
      }
      case WorkerCommand.cancel: {
        const job = satellite.running.get(message[3]?.toString() ?? "");
        if (job !== undefined) this.endJob(satellite, job);
        else {
          const token = message[3]?.toString();
          satellite.waiting = satellite.waiting.filter((waiting) => waiting.token !== token);
        }
        return;
      }
      case WorkerCommand.disconnect:
        this.connect(satellite);
        return;
      default:
        return;
    }
  }

  protected startJob(
    satellite: SimSatellite,
    id: string,
    attempt: number,
    type: string,
    key: string | null,
    address: Buffer | null,
  ): void {
    const token = `${id}#${attempt}`;
    if (satellite.running.has(token)) return;
    const job: RunningJob = {
      token,
      id,
      attempt,
      type,
      key,
      address,
      started: false,
      finished: false,
      durationMs: 0,
    };
    if (address !== null) this.satelliteSend(satellite, workerCommandFrames(WorkerCommand.ack, address));
    else {
      // Acked when the message that brought it is done (the end of the satellite's turn).
      satellite.unacked.push(job);
    }
    if (satellite.running.size < satellite.capacity) this.begin(satellite, job);
    else satellite.waiting.push(job);
  }

  protected begin(satellite: SimSatellite, job: RunningJob): void {
    satellite.running.set(job.token, job);
    job.started = true;
    const service: ServiceSpec = this.scenario.service?.[job.type] ?? NO_SERVICE;
    const hangRate = satellite.hangRate ?? service.hangRate ?? 0;
    if (hangRate > 0 && this.random.next() < hangRate) return; // this job never finishes
    job.durationMs =
      draw(this.random, satellite.time ?? service.time ?? DEFAULT_SERVICE) * satellite.slowdown;
    const generation = satellite.generation;
    this.queue.after(job.durationMs, () => {
      if (satellite.generation === generation) this.complete(satellite, job);
    });
  }

  protected complete(satellite: SimSatellite, job: RunningJob): void {
    if (satellite.running.get(job.token) !== job) return; // cancelled meanwhile
    if (satellite.state === "hung") {
      satellite.deferred.push(() => this.complete(satellite, job));
      return;
    }
    const service: ServiceSpec = this.scenario.service?.[job.type] ?? NO_SERVICE;
    const failureRate = satellite.failureRate ?? service.failureRate ?? 0;
    const ok = !(failureRate > 0 && this.random.next() < failureRate);
    satellite.jobs++;
    satellite.busyMs += job.durationMs;
    const payload = ok ? DONE_PAYLOAD : FAILED_PAYLOAD;
    if (job.address !== null) {
      this.satelliteSend(
        satellite,
        jobReplyFrames(
          job.address,
          ok ? { s: "ok" } : { s: "error", e: "simulated failure", r: true },
          payload,
        ),
      );
    } else {
      satellite.replies.push([
        job.id,
        job.attempt,
        ok ? 0 : 1,
        payload.length,
        ok ? null : "simulated failure",
        ok ? null : true,
      ]);
      satellite.replyPayloads.push(payload);
      if (satellite.replies.length >= BATCH_FLUSH_ENTRIES) this.flushSatellite(satellite);
      else this.scheduleFlush(satellite);
    }
    if (ok && job.key !== null) {
      // Per type, then per key: no "type\0key" string built and hashed per job.
      let owners = this.keyOwner.get(job.type);
      if (owners === undefined) {
        owners = new Map();
        this.keyOwner.set(job.type, owners);
      }
      const before = owners.get(job.key);
      if (before !== undefined && before !== satellite.id) this.metrics.keyMoved(job.type, this.queue.now);
      owners.set(job.key, satellite.id);
    }
    this.endJob(satellite, job);
  }

  protected endJob(satellite: SimSatellite, job: RunningJob): void {
    job.finished = true;
    satellite.running.delete(job.token);
    const next = satellite.waiting.shift();
    if (next !== undefined) this.begin(satellite, next);
    if (satellite.state === "draining" && satellite.running.size === 0) this.stopDrained(satellite);
  }

  protected scheduleFlush(satellite: SimSatellite): void {
    if (satellite.flushScheduled) return;
    satellite.flushScheduled = true;
    const generation = satellite.generation;
    this.queue.after(0, () => {
      satellite.flushScheduled = false;
      if (satellite.generation === generation) this.flushSatellite(satellite);
    });
  }

  /** The end of the satellite's turn: one REPLY-BATCH, then one ACK-BATCH for jobs still running. */
  protected flushSatellite(satellite: SimSatellite): void {
    if (satellite.state === "hung") {
      satellite.deferred.push(() => this.flushSatellite(satellite));
      return;
    }
    if (satellite.replies.length > 0) {
      const frames = jobReplyBatchFrames(satellite.replies, satellite.replyPayloads);
      satellite.replies = [];
      satellite.replyPayloads = [];
      this.satelliteSend(satellite, frames);
    }
    if (satellite.unacked.length > 0) {
      const flat: Array<string | number> = [];
      for (const job of satellite.unacked) if (!job.finished) flat.push(job.id, job.attempt);
      satellite.unacked = [];
      if (flat.length > 0) this.satelliteSend(satellite, ackBatchFrames(flat));
    }
  }

  protected stopDrained(satellite: SimSatellite): void {
    this.flushSatellite(satellite);
    this.satelliteSend(satellite, workerCommandFrames(WorkerCommand.disconnect));
    satellite.state = "stopped";
    satellite.generation++;
    if (satellite.restartWeight !== null) {
      satellite.weight = satellite.restartWeight;
      satellite.restartWeight = null;
      this.queue.after(0, () => this.startProcess(satellite));
    }
  }

  protected drain(satellite: SimSatellite): void {
    if (satellite.state !== "up") return;
    satellite.state = "draining";
    this.satelliteSend(satellite, workerCommandFrames(WorkerCommand.drain));
    if (satellite.running.size === 0) this.stopDrained(satellite);
  }
}
