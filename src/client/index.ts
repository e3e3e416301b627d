export {
  CancelledError,
  Client,
  type ClientOptions,
  connect,
  DsatError,
  JobFailedError,
  NoSatelliteError,
  type OrchestratorEvent,
  RejectedError,
  type RequestOptions,
  TimeoutError,
  UnknownTypeError,
} from "./client.ts";
export { ControlError, connectAddress, controlRequest } from "./control.ts";
