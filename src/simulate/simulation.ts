// A discrete-event simulation of a topology under a scenario (docs/simulate.md). The orchestrator's
// decisions are the REAL JobRouter, unmodified (orchestrator-shell.ts); peers speak the protocol for
// real: satellites (satellite-processes.ts) and clients (client-load.ts) build their frames with
// src/protocol's builders and read the router's with its parsers. Only the sockets (a latency model
// per link), the disk (a commit delay) and time are simulated. This layer is the run: ticks,
// samples, the scenario's events, and the result.
import { tickPeriodMs } from "../orchestrator/index.ts";
import type { SatelliteLoad, SimSatellite, SimulationResult } from "./actors.ts";
import { ClientLoad } from "./client-load.ts";
import { round } from "./metrics.ts";
import type { ScenarioEvent } from "./scenario.ts";
import { baseName } from "./support.ts";

export type { SatelliteLoad, SimulationResult };

/** A scenario event on the satellites of a target (kill, hang, restore, ...). */
type TargetEvent = Extract<ScenarioEvent, { target: unknown }>;
type AddHostEvent = Extract<ScenarioEvent, { action: "add-host" }>;

export abstract class SimulationBase extends ClientLoad {
  protected readonly eventLog: SimulationResult["events"] = [];

  run(): SimulationResult {
    if (this.replicated) this.startNodes();
    this.startSatellites();
    this.startTicks();
    this.startLoad();
    this.scheduleEvents();
    this.scheduleSamples();
    let steps = 0;
    while (this.queue.peek() <= this.endMs) {
      this.queue.runNext();
      // Once arrivals are over and every job is answered, the rest is heartbeats: stop.
      if ((++steps & 1023) === 0 && this.queue.now >= this.endOfArrivals && this.answered === this.submitted)
        break;
    }
    const simulatedMs = Math.min(this.queue.now, this.endMs);
    this.sample();
    return this.result(simulatedMs);
  }

  // ---- time: ticks, samples, scenario events ----

  protected startTicks(): void {
    const period = tickPeriodMs(this.heartbeatMs);
    const tick = () => {
      this.arrive({ kind: "tick" });
      if (this.router.isRecovering) this.arrive({ kind: "recovery-poll" });
      this.queue.after(period, tick);
    };
    this.queue.at(period, tick);
  }

  protected scheduleSamples(): void {
    const sample = () => {
      this.sample();
      this.queue.after(this.intervalMs, sample);
    };
    this.queue.at(this.intervalMs, sample);
  }

  protected sample(): void {
    if (!this.session.live) {
      this.metrics.sample(this.queue.now, 0, 0, 0); // replicated: no node serves now
      return;
    }
    const status = this.router.status();
    this.metrics.sample(this.queue.now, status.jobs.inFlight, status.jobs.waiting, status.waiting.jobs);
  }

  protected scheduleEvents(): void {
    for (const event of this.scenario.events ?? []) this.queue.at(event.atMs, () => this.apply(event));
  }

  protected apply(event: ScenarioEvent): void {
    let affected: SimSatellite[] = [];
    let what = "";
    if ("target" in event) {
      affected = this.satellites.filter((satellite) => satellite.in(event.target));
      what = Object.entries(event.target)
        .map(([kind, name]) => `${kind} ${name}`)
        .join("");
    }
    switch (event.action) {
      case "add-host":
        what = `host ${event.host}`;
        affected = this.addHost(event);
        break;
      case "set-timeout":
        this.timeouts.set(event.type, event.timeoutMs);
        what = `${event.type} ${event.timeoutMs} ms`;
        break;
      case "kill-leader":
        what = this.killLeader(event.atMs);
        break;
      case "restart-orchestrator": {
        const node = this.nodes.find((each) => each.id === event.node);
        what = node === undefined || node.up ? `${event.node} (already up)` : event.node;
        if (node !== undefined && !node.up) node.start();
        break;
      }
      default:
        what += this.applyToTarget(event, affected);
        break;
    }
    this.eventLog.push({
      atMs: event.atMs,
      action: event.action,
      what,
      satellites: affected.length,
      ...(event.note !== undefined ? { note: event.note } : {}),
    });
  }

  /** An event on its target's satellites (`affected`); returns what it adds to the log's `what`. */
  protected applyToTarget(event: TargetEvent, affected: SimSatellite[]): string {
    switch (event.action) {
      case "kill":
        for (const satellite of affected) {
          if (satellite.state === "dead") continue;
          satellite.state = "dead";
          satellite.generation++;
          satellite.running.clear();
          satellite.waiting = [];
        }
        return "";
      case "hang":
        for (const satellite of affected)
          if (satellite.state === "up" || satellite.state === "draining") satellite.state = "hung";
        return "";
      case "restore":
        for (const satellite of affected) {
          if (satellite.state === "hung") {
            satellite.state = "up";
            const deferred = satellite.deferred;
            satellite.deferred = [];
            for (const action of deferred) action();
          } else if (satellite.state === "dead" || satellite.state === "stopped")
            this.startProcess(satellite);
        }
        return "";
      case "partition":
        for (const satellite of affected) satellite.partitioned = true;
        return "";
      case "heal":
        for (const satellite of affected) satellite.partitioned = false;
        return "";
      case "drain":
        for (const satellite of affected) this.drain(satellite);
        return "";
      case "slow":
        for (const satellite of affected) satellite.slowdown = event.slowdown;
        return ` x${event.slowdown}`;
      case "set-weight":
        for (const satellite of affected) {
          satellite.restartWeight = event.weight;
          this.drain(satellite);
        }
        return ` weight ${event.weight}`;
    }
  }

  /** A new host with satellites of `types` (default: the types on every host), started now. */
  protected addHost(event: AddHostEvent): SimSatellite[] {
    const added: SimSatellite[] = [];
    const location = this.hierarchy.map((level): [string, string] => [
      level,
      level === "host" ? event.host : event.location[level],
    ]);
    const types =
      event.types ??
      Object.entries(this.topology.types)
        .filter(([, type]) => type.hosts === undefined && type.instances === undefined)
        .map(([name]) => name);
    for (const type of types) {
      const config = this.topology.types[type];
      const count = config.instancesPerHost ?? 1;
      for (let i = 1; i <= count; i++) {
        const id = count === 1 ? `${type}@${event.host}` : `${type}@${event.host}#${i}`;
        const satellite = this.addSatellite(
          id,
          type,
          event.host,
          location,
          config.concurrency ?? 1,
          config.weight ?? 1,
        );
        added.push(satellite);
        this.startProcess(satellite);
      }
    }
    return added;
  }

  // ---- the result ----

  protected result(simulatedMs: number): SimulationResult {
    const lost = new Map<string, number>();
    for (const clients of this.clients.values())
      for (const client of clients)
        for (const pending of client.pending.values())
          lost.set(pending.type, (lost.get(pending.type) ?? 0) + 1);
    const queuedAtEnd = new Map<string, number>();
    for (const satellite of this.router.status().satellites)
      queuedAtEnd.set(String(satellite.id), Number(satellite.queued));
    const satellites: SatelliteLoad[] = this.satellites.map((s) => ({
      id: s.id,
      type: s.type,
      host: s.host,
      location: s.location.map(([level, name]) => `${level}=${name}`).join(","),
      jobs: s.jobs,
      busyMs: round(s.busyMs),
      utilization: round(s.busyMs / (s.capacity * Math.max(1, simulatedMs))),
      queuedAtEnd: queuedAtEnd.get(s.id) ?? 0,
    }));
    const total = this.satellites.reduce((sum, s) => sum + s.jobs, 0);
    const domains: SimulationResult["domains"] = {};
    for (const [index, level] of this.hierarchy.entries()) {
      const buckets: Record<string, { jobs: number; share: number; satellites: number }> = {};
      for (const s of this.satellites) {
        const bucket = s.location[index][1];
        buckets[bucket] ??= { jobs: 0, share: 0, satellites: 0 };
        buckets[bucket].jobs += s.jobs;
        buckets[bucket].satellites++;
      }
      for (const bucket of Object.values(buckets))
        bucket.share = round(total === 0 ? 0 : bucket.jobs / total);
      domains[level] = buckets;
    }
    return {
      topology: baseName(this.topology.file),
      scenario: baseName(this.scenario.file),
      description: this.scenario.description,
      seed: this.seed,
      simulatedMs: round(simulatedMs),
      intervalMs: this.intervalMs,
      routerSteps: this.routerSteps,
      types: this.metrics.typeTotals(lost, this.endOfArrivals),
      timeline: this.metrics.timeline(simulatedMs),
      satellites,
      domains,
      events: this.eventLog,
      satelliteEvents: Object.fromEntries([...this.metrics.events].sort(([a], [b]) => (a < b ? -1 : 1))),
      ...(this.replicated ? { orchestrators: this.replicatedResult() } : {}),
    };
  }
}
