// A replicated node's own admin socket (`dsat orch ...`, docs/raft.md "Operations"): bound by every
// node whether it leads or not, so each one can be asked for its role, term and lag, told to hand
// over leadership, to change its mode, to snapshot, or (the leader) to change membership. The
// control protocol's framing (control.ts): one MessagePack map in, one out.
import { Router } from "zeromq";
import type { Mode, NodeId } from "../../raft/index.ts";
import { receiveEach, SocketWriter } from "../../transport/index.ts";
import { controlReplyFrames, parseControlRequest } from "../control.ts";
import { exposedControl } from "../control-binding.ts";

export interface AdminHandlers {
  status(): object;
  stepDown(to: NodeId | undefined): object;
  setMode(mode: Mode): object;
  snapshot(): Promise<object>;
  membership(change: "add-voter" | "add-learner" | "remove", node: NodeId): object;
}

export const ADMIN_COMMANDS = [
  "ping",
  "orch-status",
  "orch-step-down",
  "orch-mode",
  "orch-snapshot",
  "orch-add",
  "orch-remove",
] as const;

const MODES: readonly Mode[] = ["active", "reluctant", "passive"];

export class AdminPort {
  private constructor(
    private readonly socket: Router,
    private readonly endpoint: string,
  ) {}

  /**
   * Binds `endpoint` (this host only, like control without CURVE, unless `insecure`) and answers
   * until close().
   */
  static async start(endpoint: string, handlers: AdminHandlers, insecure = false): Promise<AdminPort> {
    const exposed = exposedControl([endpoint]);
    if (exposed !== null && !insecure)
      throw new Error(
        `admin ${exposed}: a node's admin socket takes no keys, so it binds 127.0.0.1, ::1 or ipc:// only (insecureControl lets it bind wider)`,
      );
    const socket = new Router({ linger: 0, sendTimeout: 0 });
    await socket.bind(endpoint);
    const port = new AdminPort(socket, endpoint);
    const writer = new SocketWriter(socket, { backlogMax: 1000, retryMs: 1, onDrop: () => {} });
    void receiveEach(socket, (frames) => {
      const request = parseControlRequest(frames);
      if (request === null) return;
      void answer(handlers, request.command, request.fields).then(
        (reply) => writer.send(controlReplyFrames(request, reply)),
        (error: unknown) =>
          writer.send(controlReplyFrames(request, { ok: false, error: (error as Error).message })),
      );
    }).catch(() => {});
    return port;
  }

  async close(): Promise<void> {
    if (this.socket.closed) return;
    await this.socket.unbind(this.endpoint).catch(() => {});
    this.socket.close();
  }
}

async function answer(
  handlers: AdminHandlers,
  command: string,
  fields: Record<string, unknown>,
): Promise<object> {
  const node = typeof fields.node === "string" ? fields.node : undefined;
  switch (command) {
    case "ping":
      return { ok: true };
    case "orch-status":
      return { ok: true, ...handlers.status() };
    case "orch-step-down":
      return handlers.stepDown(typeof fields.to === "string" ? fields.to : undefined);
    case "orch-mode": {
      const mode = MODES.find((each) => each === fields.mode);
      if (mode === undefined) return { ok: false, error: `mode: expected one of ${MODES.join(", ")}` };
      return handlers.setMode(mode);
    }
    case "orch-snapshot":
      return handlers.snapshot();
    case "orch-add":
    case "orch-remove":
      if (node === undefined) return { ok: false, error: "node: expected a node id" };
      return handlers.membership(
        command === "orch-remove" ? "remove" : fields.learner === true ? "add-learner" : "add-voter",
        node,
      );
    default:
      return { ok: false, error: `unknown command "${command}"; known: ${ADMIN_COMMANDS.join(", ")}` };
  }
}
