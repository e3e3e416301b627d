// What one scrape reads: the orchestrator's status() taken once, the event counts, and the figures
// derived from them that several metrics share. Every metric of the registry is filled from the
// same view, so one scrape is one consistent snapshot.
import type { Orchestrator } from "../orchestrator/index.ts";
import type { EventSeries } from "./event-counts.ts";

export type OrchestratorStatus = ReturnType<Orchestrator["status"]>;

/** What the metrics read of an orchestrator: its public status() and onEvent(). */
export interface MetricsSource {
  status(): OrchestratorStatus;
  onEvent(listener: (topic: string, event: Record<string, unknown>) => void): () => void;
}

/** A satellite as status() lists it, with the state the metrics give it. */
export interface SatelliteView {
  id: string;
  /** "rack=r1,host=h1" (outermost first); "" for plain MDP workers. */
  location: string;
  protocol: string;
  types: string;
  state: SatelliteState;
  inFlight: number | null;
  queued: number | null;
  capacity: number | null;
  weight: number | null;
  /** Its score 0-100 (docs/operations.md, "Scores"). */
  score: number | null;
  done: number | null;
  failed: number | null;
}

/** draining wins over breaker-open: a draining satellite takes no new job either way. */
export type SatelliteState = "ready" | "draining" | "breaker-open";
export const SATELLITE_STATES: readonly SatelliteState[] = ["ready", "draining", "breaker-open"];

export interface ScrapeView {
  status: OrchestratorStatus;
  events: EventSeries;
  satellites: SatelliteView[];
}

/** A finite number, or null (the figure is left out rather than exposed as NaN). */
export function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export function scrapeView(status: OrchestratorStatus, events: EventSeries): ScrapeView {
  const breakers = status.tracker.breakersOpen;
  const open = new Set(Array.isArray(breakers) ? breakers.map(String) : []);
  const satellites = status.satellites.map((satellite): SatelliteView => {
    const id = String(satellite.id);
    return {
      id,
      location: typeof satellite.location === "string" ? satellite.location : "",
      protocol: String(satellite.protocol ?? ""),
      types: Array.isArray(satellite.types) ? satellite.types.map(String).join(",") : "",
      state: satellite.draining === true ? "draining" : open.has(id) ? "breaker-open" : "ready",
      inFlight: num(satellite.inFlight),
      queued: num(satellite.queued),
      capacity: num(satellite.capacity),
      weight: num(satellite.weight),
      score: num(satellite.score),
      done: num(satellite.done),
      failed: num(satellite.failed),
    };
  });
  return { status, events, satellites };
}

/** "datacenter=d1,rack=r1,host=h1" -> [["datacenter", "datacenter=d1"], ["rack", "datacenter=d1,rack=r1"], ...]. */
export function domainsOf(location: string): Array<[level: string, domain: string]> {
  if (location === "") return [];
  const parts = location.split(",");
  return parts.map((part, index) => [
    part.slice(0, Math.max(0, part.indexOf("="))),
    parts.slice(0, index + 1).join(","),
  ]);
}
