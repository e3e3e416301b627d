// The environment behind the interaction scripts (test/raft/testdata/*.txt, docs/raft.md "Testing"):
// real Raft cores on in-memory disks, a message queue the script delivers, drops and partitions by hand,
// and logical time that moves only with `tick` and `elapse`. Every command prints what it made the nodes
// do: role/term changes, entries written, messages sent, entries applied, snapshots installed.
//
// Commands (NODE is an id; filters are optional):
//   nodes voters=a,b,c [learners=d] [joiners=e] [prevote=false] [checkquorum=false] [election=10]
//         [heartbeat=1] [max-append=BYTES] [modes=c:reluctant,d:passive] [seed=N]   (a fresh cluster)
//   campaign NODE                     propose NODE VALUE              transfer LEADER TARGET
//   deliver [from=X] [to=Y] [type=T] [once]   (until none matching is queued; once: only those queued now)
//   drop [from=X] [to=Y] [type=T]     partition a b | c              cut FROM TO          heal
//   tick NODE... [n=N]                elapse N [verbose]   (N rounds: every live node ticks, then deliver)
//   set-mode NODE active|reluctant|passive
//   crash NODE   (its disk keeps what was written and synced)   restart NODE [mode=M]
//   hold NODE    (its Readies wait: nothing is written or sent)  release NODE
//   add-learner|add-voter|remove LEADER NODE
//   snapshot NODE   (at its applied index)   compact NODE INDEX
//   status [NODE...]                  log NODE

import type { Entry, Message, Mode, NodeId, RaftConfig, Raft as RaftType } from "../../src/raft/index.ts";
import { MemoryStorage, makeConfig, Raft, seededRandom } from "../../src/raft/index.ts";
import type { ScriptEnv } from "./datadriven.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Node {
  id: NodeId;
  storage: MemoryStorage;
  raft: RaftType | null;
  mode: Mode;
  held: boolean;
  /** The commit index a crash keeps: the last hard state written with mustSync. */
  syncedCommit: number;
  /** The state machine: normal entries' values in order, and the index applied. */
  values: string[];
  applied: number;
  lives: number;
  shown: string;
}

interface Filter {
  from?: string;
  to?: string;
  type?: string;
}

export function formatEntry(entry: Entry): string {
  const at = `${entry.index}@${entry.term}`;
  switch (entry.kind) {
    case "normal":
      return `${at} ${JSON.stringify(decoder.decode(entry.data))}`;
    case "noop":
      return `${at} noop`;
    case "config":
      return `${at} ${entry.change.type} ${entry.change.node}`;
  }
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case "append": {
      const entries = m.entries.length > 0 ? ` [${m.entries.map(formatEntry).join(", ")}]` : "";
      return `${head} prev=${m.prevIndex}@${m.prevTerm} commit=${m.commit}${entries}`;
    }
    case "append-response": {
      const mode = m.mode === "active" ? "" : ` mode=${m.mode}`;
      if (m.reject) return `${head} reject index=${m.index} hint=${m.rejectHint}@${m.rejectTerm}${mode}`;
      return `${head} index=${m.index}${mode}`;
    }
    case "heartbeat":
      return `${head} commit=${m.commit}`;
    case "heartbeat-response":
      return m.mode === "active" ? head : `${head} mode=${m.mode}`;
    case "vote":
    case "pre-vote":
      return `${head} last=${m.lastIndex}@${m.lastTerm}${m.transfer ? " transfer" : ""}${m.mode === "active" ? "" : ` mode=${m.mode}`}`;
    case "vote-response":
    case "pre-vote-response":
      return m.reject ? `${head} reject` : head;
    case "snapshot": {
      const s = m.snapshot;
      return `${head} snap=${s.index}@${s.term} voters=${s.config.voters.join(",")} learners=${s.config.learners.join(",")}`;
    }
    case "timeout-now":
      return head;
  }
}

function parseArgs(tokens: string[]): { positional: string[]; named: Map<string, string> } {
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const token of tokens) {
    const eq = token.indexOf("=");
    if (eq > 0) named.set(token.slice(0, eq), token.slice(eq + 1));
    else positional.push(token);
  }
  return { positional, named };
}

const list = (value: string | undefined): string[] => (value ? value.split(",").filter((s) => s !== "") : []);

function isMode(value: string | undefined): value is Mode {
  return value === "active" || value === "reluctant" || value === "passive";
}

export class InteractionEnv implements ScriptEnv {
  private nodes = new Map<NodeId, Node>();
  private queue: Message[] = [];
  private blocked = new Set<string>();
  private raftConfig: Partial<RaftConfig> = {};
  private seed = 1;
  private out: string[] = [];
  /** Messages and appended entries are printed (elapse turns them off unless verbose). */
  private verbose = true;
  private prefix = "";

  run(command: string): string[] {
    this.out = [];
    this.verbose = true;
    this.prefix = "";
    const [name, ...rest] = command.trim().split(/\s+/);
    const { positional, named } = parseArgs(rest);
    switch (name) {
      case "nodes":
        this.setup(named);
        break;
      case "campaign":
        this.act(positional[0], (raft) => raft.campaign());
        break;
      case "propose": {
        if (positional.length !== 2) throw new Error("usage: propose NODE VALUE");
        const [id, value] = positional;
        this.act(id, (raft) => {
          const result = raft.propose(encoder.encode(value));
          this.print(
            result.ok
              ? `${id}: proposed ${result.index}@${result.term}`
              : `${id}: refused ${result.reason}${result.leader ? ` (leader ${result.leader})` : ""}`,
          );
        });
        break;
      }
      case "transfer": {
        const [leader, target] = positional;
        this.act(leader, (raft) => {
          const result = raft.transferLeadership(target);
          if (!result.ok) this.print(`${leader}: transfer refused ${result.reason}`);
        });
        break;
      }
      case "add-learner":
      case "add-voter":
      case "remove": {
        const [leader, node] = positional;
        this.act(leader, (raft) => {
          const result = raft.proposeConfigChange({ type: name, node });
          this.print(
            result.ok
              ? `${leader}: proposed ${result.index}@${result.term}`
              : `${leader}: refused ${result.reason}`,
          );
        });
        break;
      }
      case "set-mode": {
        const [id, mode] = positional;
        if (!isMode(mode)) throw new Error(`unknown mode ${mode}`);
        this.node(id).mode = mode;
        this.act(id, (raft) => raft.setMode(mode));
        break;
      }
      case "deliver":
        this.deliver(this.filter(named), positional.includes("once"));
        break;
      case "drop":
        this.drop(this.filter(named));
        break;
      case "partition":
        this.partition(
          rest
            .join(" ")
            .split("|")
            .map((group) => group.trim().split(/\s+/)),
        );
        break;
      case "cut":
        this.blocked.add(`${positional[0]}>${positional[1]}`);
        break;
      case "heal":
        this.blocked.clear();
        break;
      case "tick": {
        const times = Number(named.get("n") ?? 1);
        for (let i = 0; i < times; i += 1) {
          if (times > 1) this.prefix = `+${i + 1} `;
          for (const id of positional) this.act(id, (raft) => raft.tick());
        }
        break;
      }
      case "elapse":
        this.elapse(Number(positional[0]), positional.includes("verbose"));
        break;
      case "crash":
        this.crash(positional[0]);
        break;
      case "restart":
        this.restart(positional[0], named.get("mode"));
        break;
      case "hold":
        this.node(positional[0]).held = true;
        break;
      case "release": {
        const node = this.node(positional[0]);
        node.held = false;
        this.processReady(node);
        break;
      }
      case "snapshot":
        this.snapshot(positional[0]);
        break;
      case "compact": {
        const node = this.node(positional[0]);
        node.storage.compact(Number(positional[1]));
        this.print(`${node.id}: log starts at ${node.storage.firstIndex()}`);
        break;
      }
      case "status":
        for (const id of positional.length > 0 ? positional : [...this.nodes.keys()]) this.status(id);
        break;
      case "log":
        this.log(positional[0]);
        break;
      default:
        throw new Error(`unknown command ${name}`);
    }
    return this.out;
  }

  // ---- commands -----------------------------------------------------------------------------------

  private setup(named: Map<string, string>): void {
    const voters = list(named.get("voters"));
    const learners = list(named.get("learners"));
    if (voters.length === 0) throw new Error("nodes: voters=... required");
    this.nodes = new Map();
    this.queue = [];
    this.blocked.clear();
    this.seed = Number(named.get("seed") ?? 1);
    this.raftConfig = {
      electionTicks: Number(named.get("election") ?? 10),
      heartbeatTicks: Number(named.get("heartbeat") ?? 1),
      preVote: named.get("prevote") !== "false",
      checkQuorum: named.get("checkquorum") !== "false",
      ...(named.has("max-append") ? { maxAppendBytes: Number(named.get("max-append")) } : {}),
    };
    const modes = new Map(list(named.get("modes")).map((pair) => pair.split(":") as [string, string]));
    const config = makeConfig(voters, learners);
    const add = (id: NodeId, storage: MemoryStorage) => {
      const mode = modes.get(id) ?? "active";
      if (!isMode(mode)) throw new Error(`unknown mode ${mode}`);
      const node: Node = {
        id,
        storage,
        raft: null,
        mode,
        held: false,
        syncedCommit: 0,
        values: [],
        applied: 0,
        lives: 0,
        shown: "",
      };
      this.nodes.set(id, node);
      this.start(node);
    };
    for (const id of [...voters, ...learners]) add(id, MemoryStorage.bootstrap(config, encoder.encode("[]")));
    for (const id of list(named.get("joiners"))) add(id, new MemoryStorage());
  }

  private start(node: Node): void {
    const snapshot = node.storage.snapshot();
    node.values = snapshot.index === 0 ? [] : (JSON.parse(decoder.decode(snapshot.data)) as string[]);
    node.applied = snapshot.index;
    node.syncedCommit = node.storage.hardState().commit;
    node.lives += 1;
    const seed = this.seed * 1000 + [...this.nodes.keys()].indexOf(node.id) * 10 + node.lives;
    node.raft = new Raft(
      { ...this.raftConfig, id: node.id, mode: node.mode },
      node.storage,
      seededRandom(seed),
    );
    node.shown = this.stateLine(node.raft);
    this.processReady(node);
  }

  private crash(id: NodeId): void {
    const node = this.node(id);
    if (node.raft === null) throw new Error(`${id} is down`);
    const lost = node.raft.log.lastIndex() - node.storage.lastIndex();
    node.raft = null;
    node.held = false;
    // The disk keeps what was written; a commit index written without fsync is lost.
    const hardState = node.storage.hardState();
    node.storage.setHardState({
      ...hardState,
      commit: Math.max(node.syncedCommit, node.storage.firstIndex() - 1),
    });
    this.print(
      `${id}: crashed; disk holds ${node.storage.lastIndex()}@${node.storage.term(node.storage.lastIndex())} commit=${node.storage.hardState().commit}${lost > 0 ? ` (${lost} unwritten entries lost)` : ""}`,
    );
  }

  private restart(id: NodeId, mode: string | undefined): void {
    const node = this.node(id);
    if (node.raft !== null) throw new Error(`${id} is up`);
    if (mode !== undefined) {
      if (!isMode(mode)) throw new Error(`unknown mode ${mode}`);
      node.mode = mode;
    }
    this.print(`${id}: restarted ${this.stateOf(node.storage)}`);
    this.start(node);
  }

  private snapshot(id: NodeId): void {
    const node = this.node(id);
    const raft = this.raft(id);
    const snapshot = node.storage.createSnapshot(
      node.applied,
      raft.configAt(node.applied),
      encoder.encode(JSON.stringify(node.values)),
    );
    this.print(`${id}: snapshot at ${snapshot.index}@${snapshot.term}`);
  }

  private elapse(rounds: number, verbose: boolean): void {
    for (let round = 1; round <= rounds; round += 1) {
      this.verbose = verbose;
      this.prefix = `+${round} `;
      for (const node of this.nodes.values()) {
        if (node.raft === null) continue;
        node.raft.tick();
        this.processReady(node);
      }
      this.deliver({}, false);
    }
  }

  private deliver(filter: Filter, once: boolean): void {
    let budget = once ? this.queue.filter((m) => this.matches(m, filter)).length : 100_000;
    while (budget > 0) {
      const at = this.queue.findIndex((m) => this.matches(m, filter));
      if (at < 0) return;
      const [message] = this.queue.splice(at, 1);
      budget -= 1;
      const node = this.nodes.get(message.to);
      if (this.blocked.has(`${message.from}>${message.to}`) || node?.raft == null) {
        if (this.verbose) this.print(`lost ${formatMessage(message)}`);
        continue;
      }
      node.raft.step(message);
      this.processReady(node);
    }
    if (!once) throw new Error("deliver: messages keep coming (100000 delivered)");
  }

  private drop(filter: Filter): void {
    const kept: Message[] = [];
    for (const message of this.queue) {
      if (this.matches(message, filter)) this.print(`dropped ${formatMessage(message)}`);
      else kept.push(message);
    }
    this.queue = kept;
  }

  private partition(groups: string[][]): void {
    this.blocked.clear();
    for (const a of groups)
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) this.blocked.add(`${from}>${to}`);
      }
  }

  private status(id: NodeId): void {
    const node = this.node(id);
    const raft = node.raft;
    if (raft === null) {
      this.print(`${id}: down, disk ${this.stateOf(node.storage)}`);
      return;
    }
    const s = raft.status();
    this.print(
      `${id}: ${s.role} t${s.term} ${s.mode} ${s.membership} commit=${s.commit} applied=${node.applied} ` +
        `log=${s.firstIndex}..${s.lastIndex}@${s.lastTerm} values=[${node.values.join(",")}]`,
    );
    if (s.progress === undefined) return;
    for (const [peer, p] of Object.entries(s.progress)) {
      if (peer === id) continue;
      this.print(`  ${peer}: match=${p.match} next=${p.next} ${p.state}${p.isLearner ? " learner" : ""}`);
    }
  }

  private log(id: NodeId): void {
    const node = this.node(id);
    const storage = node.storage;
    const snapshot = storage.snapshot();
    const entries = storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Number.POSITIVE_INFINITY);
    this.print(`${id}: snapshot ${snapshot.index}@${snapshot.term}, commit=${storage.hardState().commit}`);
    for (const entry of entries) this.print(`  ${formatEntry(entry)}`);
  }

  // ---- machinery ----------------------------------------------------------------------------------

  private node(id: NodeId | undefined): Node {
    const node = id === undefined ? undefined : this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private raft(id: NodeId): RaftType {
    const raft = this.node(id).raft;
    if (raft === null) throw new Error(`${id} is down`);
    return raft;
  }

  private act(id: NodeId | undefined, act: (raft: RaftType) => void): void {
    const node = this.node(id);
    if (node.raft === null) throw new Error(`${node.id} is down`);
    act(node.raft);
    this.processReady(node);
  }

  private filter(named: Map<string, string>): Filter {
    return { from: named.get("from"), to: named.get("to"), type: named.get("type") };
  }

  private matches(m: Message, filter: Filter): boolean {
    return (
      (filter.from === undefined || filter.from === m.from) &&
      (filter.to === undefined || filter.to === m.to) &&
      (filter.type === undefined || filter.type === m.type)
    );
  }

  private print(line: string): void {
    this.out.push(`${this.prefix}${line}`);
  }

  private stateLine(raft: RaftType): string {
    const leader = raft.leader === null || raft.role === "leader" ? "" : ` leader=${raft.leader}`;
    const vote = raft.vote === null ? "" : ` vote=${raft.vote}`;
    return `${raft.role} t${raft.term}${leader}${vote}`;
  }

  private stateOf(storage: MemoryStorage): string {
    const hs = storage.hardState();
    const last = storage.lastIndex();
    return `t${hs.term} vote=${hs.vote ?? "-"} commit=${hs.commit} log=${storage.firstIndex()}..${last}@${storage.term(last)}`;
  }

  /** Performs every Ready of `node` in the documented order, printing what it does. */
  private processReady(node: Node): void {
    for (let round = 0; !node.held && node.raft?.hasReady(); round += 1) {
      if (round > 1000) throw new Error(`${node.id} keeps producing Readies`);
      const raft = node.raft;
      const ready = raft.ready();
      const state = this.stateLine(raft);
      if (state !== node.shown) {
        this.print(`${node.id}: ${state}`);
        node.shown = state;
      }
      if (ready.snapshot !== undefined) {
        node.storage.applySnapshot(ready.snapshot);
        node.values = JSON.parse(decoder.decode(ready.snapshot.data)) as string[];
        node.applied = ready.snapshot.index;
        this.print(`${node.id}: installed snapshot ${ready.snapshot.index}@${ready.snapshot.term}`);
      }
      if (ready.entries.length > 0) {
        node.storage.append(ready.entries);
        if (this.verbose) this.print(`${node.id}: wrote ${ready.entries.map(formatEntry).join(", ")}`);
      }
      if (ready.hardState !== undefined) {
        node.storage.setHardState(ready.hardState);
        if (ready.mustSync) node.syncedCommit = ready.hardState.commit;
      }
      for (const message of ready.messages) {
        this.queue.push(message);
        if (this.verbose) this.print(formatMessage(message));
      }
      if (ready.committedEntries.length > 0) {
        for (const entry of ready.committedEntries) {
          if (entry.kind === "normal") node.values.push(decoder.decode(entry.data));
          node.applied = entry.index;
        }
        this.print(`${node.id}: applied ${ready.committedEntries.map(formatEntry).join(", ")}`);
      }
      raft.advance(ready);
    }
  }
}
