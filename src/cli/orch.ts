// `dsat orch status | step-down | mode | add | remove | snapshot` (docs/raft.md, "Operations"): the
// replicated orchestrators of a topology, asked through each node's admin socket (`admin` in
// /orchestrators). OpenIO's election_status, leave and sync; pyraftlog's green/yellow/red health.
import { Command } from "commander";
import { connectAddress, controlRequest } from "../client/index.ts";
import { loadTopology, type Topology, type TopologyOrchestratorNode } from "../topology/index.ts";
import { UsageError } from "./errors.ts";
import { topologyOption } from "./messaging.ts";

interface NodeAnswer {
  node: TopologyOrchestratorNode;
  status?: Record<string, unknown>;
  error?: string;
}

function replicatedNodes(topology: Topology): TopologyOrchestratorNode[] {
  const nodes = topology.orchestrators;
  if (nodes === undefined)
    throw new UsageError(`${topology.file}: no "orchestrators": dsat orch is for replicated orchestrators`);
  const withoutAdmin = nodes.filter((node) => node.admin === undefined).map((node) => node.id);
  if (withoutAdmin.length > 0)
    throw new UsageError(
      `${topology.file}: orchestrators ${withoutAdmin.join(", ")} have no "admin" endpoint for dsat orch`,
    );
  return nodes;
}

async function ask(node: TopologyOrchestratorNode, request: { cmd: string } & Record<string, unknown>) {
  return (await controlRequest(connectAddress(node.admin as string), request, 2000)) as Record<
    string,
    unknown
  >;
}

async function statuses(nodes: TopologyOrchestratorNode[]): Promise<NodeAnswer[]> {
  return Promise.all(
    nodes.map(async (node) => {
      try {
        return { node, status: await ask(node, { cmd: "orch-status" }) };
      } catch (error) {
        return { node, error: (error as Error).message };
      }
    }),
  );
}

function leaderOf(answers: NodeAnswer[]): NodeAnswer | undefined {
  return answers.find((answer) => answer.status?.role === "leader");
}

/** The cluster's health: red without a leader or a majority answering, yellow if any node is not green. */
function clusterHealth(answers: NodeAnswer[]): "green" | "yellow" | "red" {
  const answering = answers.filter((answer) => answer.status !== undefined);
  if (leaderOf(answers) === undefined || answering.length * 2 <= answers.length) return "red";
  return answers.every((answer) => answer.status?.health === "green") ? "green" : "yellow";
}

function statusCommand(): Command {
  return topologyOption(
    new Command("status").description("each orchestrator: role, mode, term, commit, lag, health"),
  )
    .option("--json", "print the answers as JSON")
    .action(async (options: { topology: string; json?: boolean }) => {
      const answers = await statuses(replicatedNodes(loadTopology(options.topology)));
      const health = clusterHealth(answers);
      if (options.json === true) {
        console.log(
          JSON.stringify(
            {
              health,
              leader: leaderOf(answers)?.node.id ?? null,
              nodes: answers.map(({ node, status, error }) => ({ id: node.id, ...(status ?? { error }) })),
            },
            null,
            2,
          ),
        );
      } else {
        const rows = [
          ["node", "role", "mode", "term", "commit", "applied", "lag", "serving", "health", "leader"],
        ];
        for (const { node, status, error } of answers)
          rows.push(
            status === undefined
              ? [node.id, `unreachable (${error ?? "no answer"})`, "", "", "", "", "", "", "red", ""]
              : [
                  node.id,
                  String(status.role),
                  String(status.mode),
                  String(status.term),
                  String(status.commit),
                  String(status.applied),
                  String(status.lag),
                  status.serving === true ? "yes" : "no",
                  String(status.health),
                  String(status.leader ?? "-"),
                ],
          );
        const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
        for (const row of rows)
          console.log(row.map((cell, column) => cell.padEnd(widths[column])).join("  "));
        const leader = leaderOf(answers);
        const peers = leader?.status?.peers as Record<string, { match: number; active: boolean }> | undefined;
        console.log(
          `\nhealth ${health}; master ${leader?.node.id ?? "none"}${
            peers === undefined
              ? ""
              : `; slaves ${Object.entries(peers)
                  .map(([id, peer]) => `${id} (match ${peer.match}${peer.active ? "" : ", silent"})`)
                  .join(", ")}`
          }`,
        );
      }
      if (health === "red") process.exitCode = 2;
      else if (health === "yellow") process.exitCode = 1;
    });
}

async function onLeader(topology: Topology, request: { cmd: string } & Record<string, unknown>) {
  const answers = await statuses(replicatedNodes(topology));
  const leader = leaderOf(answers);
  if (leader === undefined) throw new UsageError("no orchestrator leads now (dsat orch status)");
  return { leader: leader.node.id, reply: await ask(leader.node, request) };
}

function nodeNamed(topology: Topology, id: string): TopologyOrchestratorNode {
  const node = replicatedNodes(topology).find((each) => each.id === id);
  if (node === undefined)
    throw new UsageError(
      `${topology.file}: no orchestrator "${id}" (${(topology.orchestrators ?? []).map((each) => each.id).join(", ")})`,
    );
  return node;
}

function check(reply: Record<string, unknown>, what: string): void {
  if (reply.ok !== true) throw new UsageError(`${what}: ${String(reply.error ?? "refused")}`);
}

export function orchCommand(): Command {
  const orch = new Command("orch").description(
    "replicated orchestrators: status and operations (docs/raft.md)",
  );
  orch.addCommand(statusCommand());
  orch.addCommand(
    topologyOption(new Command("step-down").description("the leader hands over by leadership transfer"))
      .option("--to <node>", "the node to hand over to (default: the most caught-up active voter)")
      .action(async (options: { topology: string; to?: string }) => {
        const { leader, reply } = await onLeader(loadTopology(options.topology), {
          cmd: "orch-step-down",
          ...(options.to !== undefined ? { to: options.to } : {}),
        });
        check(reply, `step-down of ${leader}`);
        console.log(`${leader} hands leadership over to ${String(reply.to)}`);
      }),
  );
  orch.addCommand(
    topologyOption(new Command("mode").description("a node's candidacy: active, reluctant or passive"))
      .argument("<node>")
      .argument("<mode>", "active | reluctant | passive")
      .action(async (id: string, mode: string, options: { topology: string }) => {
        const reply = await ask(nodeNamed(loadTopology(options.topology), id), { cmd: "orch-mode", mode });
        check(reply, `mode of ${id}`);
        console.log(`${id} is ${mode}`);
      }),
  );
  orch.addCommand(
    topologyOption(
      new Command("add").description(
        "add a node of the topology through the log: as a learner, then, once it has caught up, as a voter",
      ),
    )
      .argument("<node>")
      .option("--learner", "stop at the learner (catches up, never votes)")
      .option("--timeout <ms>", "give up waiting for it to catch up after this long", "60000")
      .action(async (id: string, options: { topology: string; learner?: boolean; timeout: string }) => {
        const topology = loadTopology(options.topology);
        nodeNamed(topology, id);
        const learner = await onLeader(topology, { cmd: "orch-add", node: id, learner: true });
        // Already a learner (an earlier add that stopped half-way) is fine; anything else is not.
        if (learner.reply.ok !== true && !String(learner.reply.error).includes("already"))
          check(learner.reply, `add ${id} as a learner`);
        console.log(`add ${id}: learner (proposed by ${learner.leader})`);
        if (options.learner === true) return;
        const deadline = Date.now() + Number(options.timeout);
        for (;;) {
          const voter = await onLeader(topology, { cmd: "orch-add", node: id });
          if (voter.reply.ok === true) {
            console.log(
              `add ${id}: voter (proposed by ${voter.leader} at index ${String(voter.reply.index)})`,
            );
            return;
          }
          const error = String(voter.reply.error);
          // The learner is still catching up, or the learner's own change is not committed yet.
          if (!/learner-behind|change-pending|term-not-committed/.test(error) || Date.now() > deadline)
            check(voter.reply, `add ${id} as a voter`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }),
  );
  orch.addCommand(
    topologyOption(new Command("remove").description("remove a node from the members, through the log"))
      .argument("<node>")
      .action(async (id: string, options: { topology: string }) => {
        const topology = loadTopology(options.topology);
        nodeNamed(topology, id);
        const { leader, reply } = await onLeader(topology, { cmd: "orch-remove", node: id });
        check(reply, `remove ${id}`);
        console.log(`remove ${id}: proposed by ${leader} at index ${String(reply.index)}`);
      }),
  );
  orch.addCommand(
    topologyOption(new Command("snapshot").description("snapshot the job book and compact the Raft log now"))
      .argument("[node]", "one node (default: every node)")
      .action(async (id: string | undefined, options: { topology: string }) => {
        const topology = loadTopology(options.topology);
        const nodes = id === undefined ? replicatedNodes(topology) : [nodeNamed(topology, id)];
        for (const node of nodes) {
          const reply = await ask(node, { cmd: "orch-snapshot" });
          check(reply, `snapshot of ${node.id}`);
          console.log(`${node.id}: snapshot at index ${String(reply.index)}`);
        }
      }),
  );
  return orch;
}
