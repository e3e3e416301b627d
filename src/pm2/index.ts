export {
  APP_PREFIX,
  type AppsOptions,
  appsFromEnv,
  buildApps,
  isDsatApp,
  ORCHESTRATOR_APP,
  type Pm2App,
  type SatelliteApp,
  satelliteAppName,
  satelliteApps,
} from "./apps.ts";
export { daemonRunning, Pm2Client, type Pm2Process, pm2Home, REPO_ROOT, withPm2 } from "./client.ts";
export {
  appNameOf,
  type DownResult,
  down,
  type LogLine,
  list,
  logs,
  type Pm2Options,
  registeredSatellites,
  restart,
  type UpOptions,
  type UpResult,
  up,
} from "./manage.ts";
export { type DsatStatus, gatherStatus, type OrchestratorStatus, type SatelliteStatus } from "./status.ts";
export {
  startWatchdog,
  Watchdog,
  type WatchdogOptions,
  type WatchdogPm2,
  type WatchdogRestart,
  type WatchdogTarget,
  watchdogFile,
  watchdogRestarts,
  watchdogWanted,
} from "./watchdog.ts";
