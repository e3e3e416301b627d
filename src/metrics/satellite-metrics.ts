// Satellites: how many per state and failure domain, breakers, and each live satellite's own
// figures (what it reports through the orchestrator: slots, queue, results). Only satellites in
// the registry have series (at most limits.satellitesMax); one that is gone drops out at the next
// scrape. `perSatellite: false` leaves the per-satellite series out for very large fleets.
import { counter, type Emit, gauge, type MetricDefinition } from "./definition.ts";
import { domainsOf, SATELLITE_STATES, type SatelliteView, type ScrapeView } from "./scrape-view.ts";

export const SATELLITE_FLEET_METRICS: readonly MetricDefinition[] = [
  gauge(
    "dsat_satellites",
    "Registered satellites by state: ready, draining, breaker-open.",
    ["state"],
    (view, emit) => {
      for (const state of SATELLITE_STATES)
        emit({ state }, view.satellites.filter((satellite) => satellite.state === state).length);
    },
  ),
  gauge(
    "dsat_satellites_by_domain",
    'Registered satellites by failure domain and state: one series per level of each satellite\'s location (domain "rack=r1" at level "rack", "rack=r1,host=h1" at level "host").',
    ["level", "domain", "state"],
    (view, emit) => {
      const counts = new Map<string, { level: string; domain: string; state: string; count: number }>();
      for (const satellite of view.satellites)
        for (const [level, domain] of domainsOf(satellite.location)) {
          const key = `${domain}\n${satellite.state}`;
          const entry = counts.get(key) ?? { level, domain, state: satellite.state, count: 0 };
          entry.count++;
          counts.set(key, entry);
        }
      for (const { level, domain, state, count } of counts.values()) emit({ level, domain, state }, count);
    },
  ),
  gauge(
    "dsat_breakers_open",
    "Satellites whose circuit breaker is open (draining ones included).",
    [],
    (view, emit) => {
      const open = view.status.tracker.breakersOpen;
      emit({}, Array.isArray(open) ? open.length : null);
    },
  ),
];

/** One gauge or counter per satellite, reading one figure of it. */
function perSatellite(
  make: typeof gauge,
  name: string,
  help: string,
  figure: (satellite: SatelliteView) => number | null,
): MetricDefinition {
  return make(name, help, ["satellite"], (view: ScrapeView, emit: Emit) => {
    for (const satellite of view.satellites) emit({ satellite: satellite.id }, figure(satellite));
  });
}

export const SATELLITE_METRICS: readonly MetricDefinition[] = [
  gauge(
    "dsat_satellite_info",
    "1 for each registered satellite, with its location, protocol (dsat/1 or MDP/0.1) and job types.",
    ["satellite", "location", "protocol", "types"],
    (view, emit) => {
      for (const { id, location, protocol, types } of view.satellites)
        emit({ satellite: id, location, protocol, types }, 1);
    },
  ),
  gauge(
    "dsat_satellite_state",
    "1 for each registered satellite, labelled with its state: ready, draining, breaker-open.",
    ["satellite", "state"],
    (view, emit) => {
      for (const satellite of view.satellites) emit({ satellite: satellite.id, state: satellite.state }, 1);
    },
  ),
  perSatellite(
    gauge,
    "dsat_satellite_jobs_in_flight",
    "Attempts sent to the satellite and not yet answered.",
    (s) => s.inFlight,
  ),
  perSatellite(
    gauge,
    "dsat_satellite_jobs_queued",
    "Jobs queued for the satellite, waiting for one of its slots.",
    (s) => s.queued,
  ),
  perSatellite(
    gauge,
    "dsat_satellite_capacity",
    "Jobs the satellite runs at once (its slots).",
    (s) => s.capacity,
  ),
  perSatellite(gauge, "dsat_satellite_weight", "The satellite's CRUSH weight.", (s) => s.weight),
  perSatellite(
    gauge,
    "dsat_satellite_score",
    "The satellite's score 0-100 from its load, or its lock: its CRUSH reweight (0 takes no new job).",
    (s) => s.score,
  ),
  perSatellite(
    counter,
    "dsat_satellite_jobs_done_total",
    "Attempts the satellite answered with a result, since it registered.",
    (s) => s.done,
  ),
  perSatellite(
    counter,
    "dsat_satellite_jobs_failed_total",
    "Attempts the satellite answered with a failure, since it registered.",
    (s) => s.failed,
  ),
];
