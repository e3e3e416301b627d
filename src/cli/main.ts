// The `dsat` command line.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { crushCommand } from "./crush.ts";
import { dashboardCommand } from "./dashboard.ts";
import { demoCommand } from "./demo.ts";
import { isUserError, journalOpenExitCode } from "./errors.ts";
import { drainCommand, undrainCommand } from "./fleet.ts";
import { inputsCommand } from "./inputs.ts";
import { jobsCommand, retryCommand } from "./jobs.ts";
import { keysCommand } from "./keys.ts";
import { cacheCommand, configCommand } from "./live-config.ts";
import { logLevelCommand } from "./log-level.ts";
import { eventsCommand, orchestratorCommand, publishCommand, satelliteCommand } from "./messaging.ts";
import { orchCommand } from "./orch.ts";
import { localityCommand, rebalanceCommand } from "./placement-plans.ts";
import { downCommand, logsCommand, statusCommand, upCommand } from "./pm2.ts";
import { raftCommand } from "./raft.ts";
import { scoreCommand } from "./score.ts";
import { simulateCommand } from "./simulate.ts";
import { checkCommand, topologyCommand } from "./topology.ts";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command("dsat")
    .description("Distributed SATellites: ZeroMQ jobs placed by failure domain with Ceph-exact CRUSH")
    .version(packageJson.version)
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  program.addCommand(crushCommand());
  program.addCommand(demoCommand());
  program.addCommand(orchestratorCommand());
  program.addCommand(satelliteCommand());
  program.addCommand(publishCommand());
  program.addCommand(eventsCommand());
  program.addCommand(statusCommand());
  program.addCommand(jobsCommand());
  program.addCommand(retryCommand());
  program.addCommand(upCommand());
  program.addCommand(downCommand());
  program.addCommand(logsCommand());
  program.addCommand(topologyCommand());
  program.addCommand(checkCommand());
  program.addCommand(drainCommand());
  program.addCommand(undrainCommand());
  program.addCommand(logLevelCommand());
  program.addCommand(scoreCommand());
  program.addCommand(localityCommand());
  program.addCommand(inputsCommand());
  program.addCommand(rebalanceCommand());
  program.addCommand(configCommand());
  program.addCommand(cacheCommand());
  program.addCommand(keysCommand());
  program.addCommand(simulateCommand());
  program.addCommand(raftCommand());
  program.addCommand(orchCommand());
  program.addCommand(dashboardCommand());
  for (const command of program.commands) command.exitOverride();
  for (const command of program.commands.flatMap((c) => c.commands)) command.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const journalExit = journalOpenExitCode(error);
    if (journalExit !== null) {
      process.stderr.write(`dsat: ${(error as Error).message}\n`);
      return journalExit;
    }
    if (isUserError(error)) {
      process.stderr.write(`dsat: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(
      `dsat: internal error (please report): ${(error as Error)?.stack ?? String(error)}\n`,
    );
    return 70;
  }
}

process.exitCode = await main(process.argv.slice(2));
