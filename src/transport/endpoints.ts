// Several orchestrators (a replicated set): a client or satellite is given every endpoint, as a
// list or as one string with commas (ZeroMQ endpoints never hold one), and connects to all of them.
// Only the leader binds, and with ZMQ_IMMEDIATE a message goes only to a completed connection: the
// leader's, or, for the moment two nodes both think they lead, either of them.

export function endpointList(endpoint: string | readonly string[]): string[] {
  const list = (typeof endpoint === "string" ? endpoint.split(",") : [...endpoint])
    .map((each) => each.trim())
    .filter((each) => each !== "");
  if (list.length === 0) throw new TypeError("no endpoint given");
  return list;
}
