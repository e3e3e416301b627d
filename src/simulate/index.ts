export { compareKind, formatComparison } from "./compare.ts";
export { htmlReport, type ReportData, reportData } from "./html.ts";
export { type Percentiles, percentiles, type TypeTotals } from "./metrics.ts";
export { EventQueue } from "./queue.ts";
export { type Distribution, draw, KeyPicker, Random } from "./random.ts";
export { simulate } from "./replicated-simulation.ts";
export { formatResult } from "./report.ts";
export {
  checkAgainst,
  loadScenario,
  parseScenario,
  SCENARIO_SCHEMA_FILE,
  type Scenario,
  ScenarioError,
  type ScenarioEvent,
} from "./scenario.ts";
export type { SatelliteLoad, SimulationResult } from "./simulation.ts";
