// `dsat raft mock`: a replicated key/value log on the Raft node (pyraftlog-mock's equivalent), started
// three times on localhost to watch elections, appends and failover (docs/raft.md, "dsat raft mock").
import { Command, Option } from "commander";
import { StorageError } from "../raft/index.ts";
import { LOG_LEVELS, type LogLevel, MockUsageError, RaftMock } from "../raft/node/index.ts";
import { UsageError } from "./errors.ts";

function integer(name: string, min: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min)
      throw new UsageError(`${name} must be an integer >= ${min}, not "${text}"`);
    return value;
  };
}

export function raftCommand(): Command {
  const raft = new Command("raft").description("Raft tools (docs/raft.md)");
  raft
    .command("mock")
    .description(
      "run one node of a replicated key/value log; poke it on its command port (append, get, log, status, mode, transfer)",
    )
    .addOption(
      new Option("-t, --type <mode>", "candidacy mode")
        .choices(["active", "reluctant", "passive"])
        .default("active"),
    )
    .requiredOption("-n, --node <[host:]port>", "this node's Raft address (its id)")
    .option("-b, --neighbours <[host:]port...>", "the other founding nodes' Raft addresses", [])
    .requiredOption("-p, --command-port <[host:]port>", "the command port (line protocol over TCP)")
    .option(
      "-r, --reduction <entries>",
      "log reduction: snapshot and compact every N applied entries (0: off)",
      integer("-r", 0),
      0,
    )
    .addOption(new Option("-l, --level <level>", "log level").choices([...LOG_LEVELS]).default("info"))
    .option("-f, --dir <dir>", "data directory (default raft-mock-<port>)")
    .option("--curve-dir <dir>", "CURVE between nodes: PORT.key for this node, PORT.pub for each neighbour")
    .option("--tick-ms <ms>", "milliseconds per Raft tick", integer("--tick-ms", 1), 100)
    .option("--election-ticks <ticks>", "election timeout in ticks", integer("--election-ticks", 2), 10)
    .option(
      "--append-timeout-ms <ms>",
      "how long append waits to be applied",
      integer("--append-timeout-ms", 1),
      5000,
    )
    .action(
      async (options: {
        type: "active" | "reluctant" | "passive";
        node: string;
        neighbours: string[];
        commandPort: string;
        reduction: number;
        level: LogLevel;
        dir?: string;
        tickMs: number;
        electionTicks: number;
        appendTimeoutMs: number;
        curveDir?: string;
      }) => {
        let fatal = () => {};
        let mock: RaftMock;
        // Until SIGINT or SIGTERM, or until the node stops by itself (exit code 1).
        const stopped = new Promise<void>((resolve) => {
          fatal = () => {
            process.exitCode = 1;
            resolve();
          };
          process.once("SIGINT", () => resolve());
          process.once("SIGTERM", () => resolve());
        });
        try {
          mock = await RaftMock.start({
            mode: options.type,
            node: options.node,
            neighbours: options.neighbours,
            commandPort: options.commandPort,
            reduction: options.reduction,
            level: options.level,
            dir: options.dir ?? `raft-mock-${options.node.split(":").at(-1)}`,
            tickMs: options.tickMs,
            electionTicks: options.electionTicks,
            appendTimeoutMs: options.appendTimeoutMs,
            curveDir: options.curveDir,
            onFatal: () => fatal(),
          });
        } catch (error) {
          if (error instanceof MockUsageError || error instanceof StorageError)
            throw new UsageError(error.message);
          const text = (error as Error).message ?? "";
          if (
            /address already in use/i.test(text) ||
            (error as NodeJS.ErrnoException).code === "EADDRINUSE"
          ) {
            throw new UsageError(`cannot listen: ${text}`);
          }
          throw error;
        }
        await stopped;
        // After a storage failure the final writes may fail too: one line, not a stack trace.
        await mock.stop().catch((error: Error) => {
          process.stderr.write(`dsat: raft mock: stopping: ${error.message}\n`);
          process.exitCode = 1;
        });
      },
    );
  return raft;
}
