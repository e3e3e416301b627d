export {
  CancelledError,
  Client,
  type ClientOptions,
  connect,
  DsatError,
  JobFailedError,
  NoSatelliteError,
  NotFoundError,
  type OrchestratorEvent,
  RejectedError,
  type RequestOptions,
  TimeoutError,
  UnknownTypeError,
} from "./client.ts";
export {
  type ControlCommandRequest,
  ControlError,
  connectAddress,
  controlRequest,
  controlRoutingId,
  signControlRequest,
} from "./control.ts";
export { MDP_IN_FLIGHT_MAX, MdpClient, type MdpClientOptions, type MdpRequestOptions } from "./mdp-client.ts";
export {
  TitanicClient,
  type TitanicOptions,
  type TitanicReply,
  type TitanicRequestOptions,
} from "./titanic.ts";
