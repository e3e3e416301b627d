// runSatellite(): a satellite started from its definition, speaking dsat or, for protocol "mdp",
// plain 7/MDP.
import type { SatelliteDefinition, SatelliteOptions } from "./definition.ts";
import { MdpSatelliteRuntime } from "./mdp-satellite.ts";
import { SatelliteRuntime } from "./satellite.ts";

/** Starts a satellite: a SatelliteRuntime, or an MdpSatelliteRuntime for `protocol: "mdp"`. */
export function runSatellite(
  definition: SatelliteDefinition,
  options: SatelliteOptions & { protocol: "mdp" },
): Promise<MdpSatelliteRuntime>;
export function runSatellite(
  definition: SatelliteDefinition,
  options: SatelliteOptions & { protocol?: "dsat" },
): Promise<SatelliteRuntime>;
export function runSatellite(
  definition: SatelliteDefinition,
  options: SatelliteOptions,
): Promise<SatelliteRuntime | MdpSatelliteRuntime>;
export async function runSatellite(
  definition: SatelliteDefinition,
  options: SatelliteOptions,
): Promise<SatelliteRuntime | MdpSatelliteRuntime> {
  if (options.protocol !== undefined && options.protocol !== "dsat" && options.protocol !== "mdp") {
    throw new TypeError(
      `satellite ${options.id}: protocol must be "dsat" or "mdp", got ${String(options.protocol)}`,
    );
  }
  const runtime =
    options.protocol === "mdp"
      ? new MdpSatelliteRuntime(definition, options)
      : new SatelliteRuntime(definition, options);
  await runtime.start();
  return runtime;
}
