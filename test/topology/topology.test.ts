// Topology files: the schema, the error text for broken files, instance spreading, rule text.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveRule } from "../../src/crush/index.ts";
import { DEFAULT_LIMITS } from "../../src/protocol/index.ts";
import {
  checkTopology,
  loadTopology,
  orchestratorConfig,
  parseRuleText,
  parseTopology,
  satelliteInstances,
  schemaProblem,
  spreadOrder,
  TopologyError,
  typeMap,
  typeReport,
} from "../../src/topology/index.ts";
import { ROOT, runDsat } from "../cli/helpers.ts";

const TOPOLOGIES = join(ROOT, "topologies");
const FIXTURES = join(ROOT, "test/fixtures/topologies");
const fixture = (name: string) => relative(process.cwd(), join(FIXTURES, name));

describe("the schema", () => {
  const files = readdirSync(TOPOLOGIES).filter((name) => name.endsWith(".json") && !name.includes("schema"));

  it("covers the example topologies", () => {
    expect(files).toEqual(expect.arrayContaining(["demo.json", "two-datacenters.json", "pipeline.json"]));
  });

  it("lets a topology set every limit the orchestrator has (src/protocol/limits.ts)", () => {
    const schema = JSON.parse(readFileSync(join(TOPOLOGIES, "topology.schema.json"), "utf8"));
    const limits = schema.$defs.orchestrator.properties.limits.properties;
    expect(Object.keys(limits).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
  });

  it.each(files)("accepts and loads topologies/%s", (name) => {
    const json = JSON.parse(readFileSync(join(TOPOLOGIES, name), "utf8"));
    expect(json.$schema).toBe("./topology.schema.json");
    expect(schemaProblem(json)).toBeUndefined();
    const topology = loadTopology(join(TOPOLOGIES, name));
    expect(satelliteInstances(topology).length).toBeGreaterThan(0);
  });
});

// Each broken file and the exact error after "<file>: ".
const BROKEN: Array<[string, string]> = [
  ["bad-json.json", "/: not valid JSON at line 23, column 21: Expected double-quoted property name"],
  ["missing-orchestrator.json", "/orchestrator: expected an object, found nothing"],
  ["wrong-type.json", '/types/echo/replicas: expected an integer in 1..16, found string "3"'],
  [
    "unknown-host.json",
    '/types/measure/hosts/1: expected a host declared under /hosts (h1, h2, h3), found string "h9"',
  ],
  [
    "next-cycle.json",
    "/types/store/next: expected a pipeline that ends, found the loop measure -> store -> measure",
  ],
  [
    "unknown-next.json",
    '/types/measure/next: expected a type declared under /types (echo, measure, store), found string "stor"',
  ],
  [
    "failure-domain.json",
    '/types/echo/failureDomain: expected a hierarchy level (rack, host, satellite), found string "row"',
  ],
  [
    "bad-rule-text.json",
    '/types/echo/rule: line 2: expected "step take <bucket>", "step choose|chooseleaf firstn|indep <n> type <type>", "step set_<tunable> <n>" or "step emit", found "step chooseleaf firstn zero type rack"',
  ],
  [
    "rule-unknown-bucket.json",
    '/types/echo/rule: line 1: expected a bucket of the hierarchy (default, r1, h1, h2, r2, h3), found string "r9"',
  ],
  [
    "rule-outside-type.json",
    '/types/measure/rule: line 1: expected a bucket holding some of measure\'s satellites (default, r1, h1), found string "r2"',
  ],
  [
    "rule-unknown-type.json",
    '/types/echo/rule/1/type: expected a bucket type (rack, host, satellite, root), found string "row"',
  ],
  [
    "rule-bad-op.json",
    '/types/echo/rule/steps/1/op: expected one of "use", "select", "take", "choose", "set", "emit", found string "pick"',
  ],
  [
    "no-emit.json",
    "/types/echo/rule: expected an emit step (without one the rule places nothing), found none",
  ],
  [
    "instances-both.json",
    "/types/echo/instances: expected either instances (a total) or instancesPerHost, found both",
  ],
  [
    "host-level.json",
    '/hosts/h2/row: expected a level of the hierarchy above host (rack), found string "row"',
  ],
  [
    "bad-endpoint.json",
    '/orchestrator/frontend: expected a ZeroMQ endpoint like tcp://127.0.0.1:5555, tcp://*:5555, ipc:///tmp/dsat.sock or inproc://name, found string "tcp://127.0.0.1"',
  ],
  [
    "unknown-key.json",
    "/types/echo/replica: expected one of the keys module, instancesPerHost, instances, hosts, concurrency, weight, replicas, failureDomain, rule, next, timeoutMs, runTimeoutMs, attemptsMax, overflow, env, found an unknown key",
  ],
  [
    "hierarchy-without-host.json",
    '/hierarchy: expected levels ending with "host", found an array ["rack","server"]',
  ],
  [
    "rack-in-two-datacenters.json",
    '/hosts/h2/rack: expected rack "r1" in one place (dc1, as for host h1), found it under dc2',
  ],
  [
    "rule-no-candidates.json",
    '/types/echo/rule: expected a rule that gives jobs candidates among echo\'s 3 satellites, found 0 candidates for all 64 keys mapped: "choose firstn 2 type rack" finds no rack under rack r1',
  ],
  [
    "rule-emits-buckets.json",
    '/types/echo/rule: expected a rule that gives jobs candidates among echo\'s 3 satellites, found 0 candidates for all 64 keys mapped: it emits rack buckets (r1, r2), not satellites: use chooseleaf (op "take" with a type) for a satellite in each, or end with a choose of type satellite',
  ],
];

// Fixtures that load; `check` reports on them (degraded placement, no satellites, missing files).
const VALID = ["degraded-rack.json", "no-satellites.json", "missing-files.json"];

describe("broken topology files", () => {
  it("every fixture is listed, as broken or as valid", () => {
    const listed = new Set([...BROKEN.map(([name]) => name), ...VALID]);
    const files = readdirSync(FIXTURES);
    expect(files.filter((name) => !listed.has(name))).toEqual([]);
    expect([...listed].filter((name) => !files.includes(name))).toEqual([]);
  });

  it.each(VALID)("%s loads", (name) => {
    expect(() => loadTopology(fixture(name))).not.toThrow();
  });

  it.each(BROKEN)("%s", (name, message) => {
    const file = fixture(name);
    let error: unknown;
    try {
      loadTopology(file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TopologyError);
    expect((error as Error).message).toBe(`${file}: ${message}`);
  });

  it("a missing file", () => {
    expect(() => loadTopology("no/such/topology.json")).toThrow(
      "no/such/topology.json: /: expected a readable file, found no such file",
    );
  });
});

const twoDatacenters = () => loadTopology(join(TOPOLOGIES, "two-datacenters.json"));

describe("satelliteInstances", () => {
  it("spreads `instances: N` round-robin across datacenters, then racks", () => {
    const topology = twoDatacenters();
    topology.types.wordcount.instances = 10;
    const instances = satelliteInstances(topology).filter((instance) => instance.type === "wordcount");
    expect(instances).toHaveLength(10);
    const at = (index: number, level: string) =>
      instances[index].location.find(([name]) => name === level)?.[1] as string;
    for (let index = 1; index < instances.length; index++) {
      expect(at(index, "datacenter")).not.toBe(at(index - 1, "datacenter"));
    }
    // The first four cover all four racks.
    expect(new Set([0, 1, 2, 3].map((index) => at(index, "rack"))).size).toBe(4);
    // 10 over 8 hosts: two hosts run two, named #1 and #2; the rest one, named type@host.
    expect(instances.map((instance) => instance.id)).toEqual([
      "wordcount@dc1-r1-h1#1",
      "wordcount@dc2-r1-h1#1",
      "wordcount@dc1-r2-h1",
      "wordcount@dc2-r2-h1",
      "wordcount@dc1-r1-h2",
      "wordcount@dc2-r1-h2",
      "wordcount@dc1-r2-h2",
      "wordcount@dc2-r2-h2",
      "wordcount@dc1-r1-h1#2",
      "wordcount@dc2-r1-h1#2",
    ]);
    expect(new Set(instances.map((instance) => instance.id)).size).toBe(10);
  });

  it("spreadOrder interleaves failure domains", () => {
    const topology = twoDatacenters();
    expect(spreadOrder(topology, Object.keys(topology.hosts))).toEqual([
      "dc1-r1-h1",
      "dc2-r1-h1",
      "dc1-r2-h1",
      "dc2-r2-h1",
      "dc1-r1-h2",
      "dc2-r1-h2",
      "dc1-r2-h2",
      "dc2-r2-h2",
    ]);
  });

  it("instancesPerHost puts that many on each host; module paths are relative to the file", () => {
    const topology = twoDatacenters();
    topology.types.cpu.instancesPerHost = 2;
    const cpu = satelliteInstances(topology).filter((instance) => instance.type === "cpu");
    expect(cpu.map((instance) => instance.id).slice(0, 2)).toEqual(["cpu@dc1-r1-h1#1", "cpu@dc1-r1-h1#2"]);
    expect(cpu).toHaveLength(16);
    expect(cpu[0].module).toBe(join(ROOT, "satellites/cpu.ts"));
  });
});

describe("rules", () => {
  const text =
    "step take default\nstep choose firstn 2 type datacenter\nstep chooseleaf firstn 2 type rack\nstep emit";

  it("rule text parses to the JSON form", () => {
    expect(parseRuleText(text).spec).toEqual({
      steps: [
        { op: "use", bucket: "default" },
        { op: "choose", type: "datacenter", count: 2, mode: "firstn" },
        { op: "choose", type: "rack", count: 2, mode: "firstn", leaf: true },
        { op: "emit" },
      ],
    });
  });

  it("rule text, a crushtool rule block and crushha's JSON form resolve to the same Ceph steps", () => {
    const topology = twoDatacenters();
    const map = typeMap(
      topology,
      satelliteInstances(topology).filter((instance) => instance.type === "cpu"),
    );
    const crushha = {
      steps: [
        { op: "use", bucket: "default" },
        { op: "select", type: "datacenter", count: 2 },
        { op: "take", count: 2, type: "rack" },
        { op: "emit" },
      ],
    } as const;
    const block = `rule cpu {\n  id 0\n  type replicated\n  min_size 1\n  max_size 10\n  ${text.replaceAll("\n", "\n  ")}\n}`;
    const fromText = resolveRule(parseRuleText(text).spec, map, 0);
    expect(resolveRule({ steps: [...crushha.steps] }, map, 0).steps).toEqual(fromText.steps);
    const parsedBlock = parseRuleText(block).spec;
    expect(parsedBlock).toMatchObject({ name: "cpu", type: "replicated", minSize: 1, maxSize: 10 });
    expect(resolveRule(parsedBlock, map, 0).steps).toEqual(fromText.steps);
  });

  it("a topology's rule (text or JSON) reaches the orchestrator's config", () => {
    const topology = twoDatacenters();
    expect(topology.types.cpu.rule).toEqual(parseRuleText(text).spec);
    expect(orchestratorConfig(topology).types?.cpu.rule).toEqual(parseRuleText(text).spec);
    const json = JSON.parse(readFileSync(join(TOPOLOGIES, "two-datacenters.json"), "utf8"));
    json.types.cpu.rule = [
      { op: "use", bucket: "default" },
      { op: "take", count: 0, type: "rack" },
      { op: "emit" },
    ];
    const fromJson = parseTopology(json, join(TOPOLOGIES, "two-datacenters.json"));
    expect(orchestratorConfig(fromJson).types?.cpu.rule).toEqual({ steps: json.types.cpu.rule });
  });

  it("a 3-replica rack rule on 2 racks is degraded, not an error", () => {
    const topology = loadTopology(fixture("degraded-rack.json"));
    const report = typeReport(topology, "echo", 2000);
    expect(report.degraded).toBe("only 2 racks (r1, r2) for 3 replicas: jobs get 2 candidates, 1 short");
    expect(report.candidatesMax).toBe(2);
  });
});

describe("placement at load time", () => {
  const degraded = () => JSON.parse(readFileSync(join(FIXTURES, "degraded-rack.json"), "utf8"));
  const load = (json: unknown) => parseTopology(json, fixture("x.json"));

  it("a rule whose choose asks for no items is a load error", () => {
    const json = degraded();
    json.types.echo.rule = "step take default\nstep chooseleaf firstn -3 type host\nstep emit";
    expect(() => load(json)).toThrow(
      `${fixture("x.json")}: /types/echo/rule: expected a rule that gives jobs candidates among echo's 3 satellites, found 0 candidates for all 64 keys mapped: "chooseleaf firstn -3 type host" asks for 0 items with 3 replicas`,
    );
  });

  it("fewer candidates than replicas, but some, loads (degraded)", () => {
    const json = degraded();
    json.types.echo.rule = "step take r1\nstep chooseleaf firstn 0 type host\nstep emit";
    const report = typeReport(load(json), "echo", 500);
    expect(report.candidatesMax).toBe(2);
    expect(report.degraded).toBe("the rule gives 2 candidates for 3 replicas");
  });

  it("a type without satellites is not placed at load time, whatever its rule", () => {
    const topology = loadTopology(fixture("no-satellites.json"));
    expect(satelliteInstances(topology).map((instance) => instance.type)).toEqual(["echo", "echo", "echo"]);
    expect(typeReport(topology, "idle", 10).satellites).toEqual([]);
  });
});

describe("topology check", () => {
  it("says which types it could not place instead of claiming every type is ok", () => {
    const { text, errors } = checkTopology(loadTopology(fixture("no-satellites.json")), "x.json", 200);
    expect(errors).toEqual([]);
    expect(text).toContain(
      "type remote: 0 satellites, replicas 2, failure domain host\n  no satellites declared (no module), so pm2 starts none: served only by satellites that register themselves; placement not checked\n",
    );
    expect(text).toContain("  no satellites declared (instances 0), so pm2 starts none:");
    expect(text).not.toContain("ok: every type gets");
    expect(text).toContain(
      "ok: every type with satellites (1 of 3) gets as many candidates as it has replicas\nnote: no satellites declared for remote, idle: served only by satellites that register themselves\n",
    );
  });

  it("names missing key files, key directories and modules; warns on undeclared satelliteTypes", () => {
    const { text, errors } = checkTopology(loadTopology(fixture("missing-files.json")), "x.json", 200);
    const dir = FIXTURES;
    expect(errors).toEqual([
      `x.json: /orchestrator/security/serverKey: expected the orchestrator's key file, found nothing at ${join(dir, "keys/orchestrator.key")}`,
      `x.json: /orchestrator/security/clients: expected a directory of the clients' NAME.pub files, found nothing at ${join(dir, "keys/clients")}`,
      `x.json: /orchestrator/security/satellites: expected a directory of the satellites' NAME.pub files, found a file at ${join(ROOT, "package.json")}`,
      `x.json: /types/measure/module: expected a satellite module file, found nothing at ${join(ROOT, "satellites/measure-v2.ts")}`,
    ]);
    const warnings = text.split("\n").filter((line) => line.includes("satelliteTypes"));
    expect(warnings).toEqual([
      'warning: /orchestrator/security/satelliteTypes/sat-h1/0: expected a type declared under /types (echo, measure, store), found string "nope"; allowed, since satellites may register types the topology does not declare, but check the spelling',
    ]);
    expect(text).toContain("error: 4 files named by the topology are missing (listed on stderr)\n");
    expect(checkTopology(twoDatacenters(), "x.json", 10).errors).toEqual([]);
  });
});

describe("dsat topology", () => {
  it("check prints the degraded warning and shares that sum to 100%", async () => {
    const result = await runDsat(["topology", "check", "test/fixtures/topologies/degraded-rack.json"]);
    const out = result.stdout.toString();
    expect(result.code).toBe(0);
    expect(out).toContain("type echo: 3 satellites, replicas 3, failure domain rack");
    expect(out).toContain("DEGRADED: only 2 racks (r1, r2) for 3 replicas: jobs get 2 candidates, 1 short");
    expect(out).toContain("rule: take default; chooseleaf firstn 0 type rack; emit (default)");
    const echo = out.slice(out.indexOf("type echo:"), out.indexOf("type measure:"));
    const shares = [...echo.matchAll(/^ {4}echo@\S+\s+\S+\s+(\S+)\s+(\S+)%\s+(\S+)%$/gm)];
    expect(shares).toHaveLength(3);
    const crush = shares.reduce((sum, match) => sum + Number(match[3]), 0);
    expect(crush).toBeGreaterThan(99.8);
    expect(crush).toBeLessThan(100.2);
    // Weight share 1/3 each; CRUSH's first picks within a few percent of it.
    for (const match of shares) expect(Math.abs(Number(match[3]) - 33.3)).toBeLessThan(3);
  });

  it("check exits 1 with the error line on an invalid file", async () => {
    const result = await runDsat(["topology", "check", "test/fixtures/topologies/wrong-type.json"]);
    expect(result.code).toBe(1);
    expect(result.stdout.toString()).toBe("");
    expect(result.stderr.toString()).toBe(
      'dsat: test/fixtures/topologies/wrong-type.json: /types/echo/replicas: expected an integer in 1..16, found string "3"\n',
    );
  });

  it("check exits 1 with one stderr line per missing file, after the report", async () => {
    const result = await runDsat(["topology", "check", "test/fixtures/topologies/missing-files.json"]);
    expect(result.code).toBe(1);
    expect(result.stdout.toString()).toContain("type echo: 3 satellites, replicas 2, failure domain rack");
    const lines = result.stderr.toString().trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe(
      `dsat: test/fixtures/topologies/missing-files.json: /types/measure/module: expected a satellite module file, found nothing at ${join(ROOT, "satellites/measure-v2.ts")}`,
    );
  });

  it("show prints the hierarchy with satellites under hosts, and each type's CRUSH tree", async () => {
    const result = await runDsat(["topology", "show", "topologies/two-datacenters.json"]);
    const out = result.stdout.toString();
    expect(result.code).toBe(0);
    expect(out).toContain(
      [
        "default (root)",
        "├── datacenter dc1",
        "│   ├── rack dc1-r1",
        "│   │   ├── host dc1-r1-h1",
        "│   │   │   ├── echo@dc1-r1-h1  (weight 1, concurrency 64)",
      ].join("\n"),
    );
    expect(out).toContain(
      "type cpu: rule take default; choose firstn 2 type datacenter; chooseleaf firstn 2 type rack; emit",
    );
    expect(out).toMatch(/ID\s+CLASS\s+WEIGHT\s+TYPE NAME/);
    expect(out).toContain("-1         8.00000  root default");
  });
});
