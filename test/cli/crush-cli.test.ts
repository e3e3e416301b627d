// End-to-end tests of the `dsat` CLI: each test spawns `node bin/dsat ...` (cwd = repo root) and checks
// its exit code and output bytes; `dsat crush test` against crushtool's committed reference outputs.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type CrushCase, fixture, fixturePath, loadCases, ROOT, runDsat } from "./helpers.ts";

const STACK_FRAME = "    at ";

const cases = new Map(loadCases().map((c) => [c.name, c]));

function getCase(name: string): CrushCase {
  const c = cases.get(name);
  if (!c) throw new Error(`case ${name} is not in cases.json`);
  return c;
}

// A representative subset of cases.json, alternating between the text map and the compiled binary map.
const SUBSET: Array<{ name: string; form: "text" | "binary"; why: string }> = [
  { name: "racks-r0-n3", form: "text", why: "--rule/--num-rep/--min-x/--max-x" },
  { name: "racks-x-last-r0-n3", form: "binary", why: "--x between --min-x and --max-x: the last wins" },
  { name: "racks-allrules-n3", form: "binary", why: "no --rule (every rule)" },
  { name: "racks-r3-allnumrep", form: "text", why: "no --num-rep (min_size..max_size)" },
  { name: "racks-out-r0-n3", form: "binary", why: "--weight" },
  { name: "racks-util-n3", form: "text", why: "--show-utilization" },
  { name: "racks-out-util-all-r0-n3", form: "binary", why: "--show-utilization-all (stderr)" },
  { name: "racks-stats-n3", form: "text", why: "--show-statistics" },
  { name: "indep-bad-r0-n9", form: "binary", why: "--show-bad-mappings, indep" },
  { name: "exhaust-choose-tries-r0-n10", form: "text", why: "--show-choose-tries" },
  { name: "legacy-out-r0-n3", form: "binary", why: "legacy map (argonaut, mixed algs)" },
  { name: "indep-r0-n6", form: "text", why: "indep with NONE holes" },
  { name: "zero-weight-util-all-r1-n3", form: "binary", why: "zero weights, --show-utilization-all" },
];

function mapFor(c: CrushCase, form: "text" | "binary"): string {
  return fixturePath(form === "text" ? `maps/${c.map}.txt` : `bin/${c.map}.bin`);
}

/** Asserts bytes equal, with a readable text diff on failure. */
function expectBytes(expect: import("vitest").ExpectStatic, actual: Buffer, expected: Buffer): void {
  expect(actual.toString("utf8")).toBe(expected.toString("utf8"));
  expect(actual.equals(expected)).toBe(true);
}

const RACKS_TXT = fixturePath("maps/racks.txt");
const RACKS_BIN = fixturePath("bin/racks.bin");

let tmp = "";
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "dsat-cli-"));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.concurrent("dsat crush test = crushtool --test", () => {
  for (const { name, form, why } of SUBSET) {
    it(`${name} (${form} map; ${why})`, async ({ expect }) => {
      const c = getCase(name);
      const r = await runDsat(["crush", "test", "-i", mapFor(c, form), ...c.args]);
      expect(r.code, r.stderr.toString()).toBe(0);
      expectBytes(expect, r.stdout, fixture(c.output));
      expectBytes(expect, r.stderr, c.stderr ? fixture(c.stderr) : Buffer.alloc(0));
    });
  }

  it("--rule accepts a rule name (rep_host = rule 0)", async ({ expect }) => {
    const c = getCase("racks-r0-n3");
    const args = c.args.map((a, i) => (c.args[i - 1] === "--rule" ? "rep_host" : a));
    expect(args).toContain("rep_host");
    const r = await runDsat(["crush", "test", "-i", RACKS_TXT, ...args]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expectBytes(expect, r.stdout, fixture(c.output));
  });
});

describe.concurrent("dsat crush tree / compile / decompile", () => {
  it("tree -i maps/racks.txt prints tree/racks.txt", async ({ expect }) => {
    const r = await runDsat(["crush", "tree", "-i", RACKS_TXT]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expectBytes(expect, r.stdout, fixture("tree/racks.txt"));
    expect(r.stderr.length).toBe(0);
  });

  it("compile MAP -o FILE writes bin/racks.bin byte for byte", async ({ expect }) => {
    const out = path.join(tmp, "compile-positional.bin");
    const r = await runDsat(["crush", "compile", RACKS_TXT, "-o", out]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect((await readFile(out)).equals(fixture("bin/racks.bin"))).toBe(true);
  });

  it("compile -i MAP -o FILE works too", async ({ expect }) => {
    const out = path.join(tmp, "compile-i.bin");
    const r = await runDsat(["crush", "compile", "-i", RACKS_TXT, "-o", out]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect((await readFile(out)).equals(fixture("bin/racks.bin"))).toBe(true);
  });

  it("decompile bin/racks.bin prints decompiled/racks.txt", async ({ expect }) => {
    const r = await runDsat(["crush", "decompile", RACKS_BIN]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expectBytes(expect, r.stdout, fixture("decompiled/racks.txt"));
  });

  it("decompile -o FILE writes decompiled/racks.txt", async ({ expect }) => {
    const out = path.join(tmp, "decompiled.txt");
    const r = await runDsat(["crush", "decompile", RACKS_BIN, "-o", out]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expectBytes(expect, await readFile(out), fixture("decompiled/racks.txt"));
  });
});

interface CompareJson {
  inputs: number;
  inputsChanged: number;
  replicas: number;
  replicasMoved: number;
  movements: Array<{ from: number; to: number; count: number }>;
}

describe.concurrent("dsat crush compare", () => {
  it("a map against itself changes nothing", async ({ expect }) => {
    const r = await runDsat(["crush", "compare", RACKS_TXT, RACKS_TXT, "--rule", "0", "--num-rep", "3"]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toContain("inputs changed: 0/1024");
  });

  const weightedArgs = [
    "crush",
    "compare",
    RACKS_TXT,
    RACKS_TXT,
    "--rule",
    "rep_host",
    "--num-rep",
    "3",
    "--weight-after",
    "7",
    "0",
  ];

  it("--weight-after 7 0 (rule by name): only osd.7's data moves", async ({ expect }) => {
    const r = await runDsat(weightedArgs);
    expect(r.code, r.stderr.toString()).toBe(0);
    const text = r.stdout.toString();
    const m = /inputs changed: (\d+)\/1024/.exec(text);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    // The move table: header "FROM TO REPLICAS", then rows "osd.A  osd.B  N" until a blank line.
    const lines = text.split("\n");
    const header = lines.findIndex((l) => /^FROM\s+TO\s+REPLICAS/.test(l));
    expect(header).toBeGreaterThanOrEqual(0);
    const rows: string[] = [];
    for (let i = header + 1; i < lines.length && /^osd\./.test(lines[i]); i++) rows.push(lines[i]);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toMatch(/^osd\.7\s+osd\.\d+\s+\d+$/);
  });

  it("--json parses: inputsChanged > 0, every movement from 7", async ({ expect }) => {
    const r = await runDsat([...weightedArgs, "--json"]);
    expect(r.code, r.stderr.toString()).toBe(0);
    const j = JSON.parse(r.stdout.toString()) as CompareJson;
    expect(j.inputs).toBe(1024);
    expect(j.inputsChanged).toBeGreaterThan(0);
    expect(j.movements.length).toBeGreaterThan(0);
    for (const mv of j.movements) {
      expect(mv.from).toBe(7);
      expect(mv.to).not.toBe(7);
      expect(mv.count).toBeGreaterThan(0);
    }
    // Removing one of three replicas moves exactly one replica per changed input.
    expect(j.movements.reduce((s, mv) => s + mv.count, 0)).toBe(j.replicasMoved);
    expect(j.replicasMoved).toBe(j.inputsChanged);
  });
});

describe.concurrent("dsat crush explain", () => {
  const args = ["crush", "explain", "-i", RACKS_TXT, "--rule", "0", "--x", "7", "--num-rep", "3"];

  it("ends with the mapping crushtool gives for x 7", async ({ expect }) => {
    const r = await runDsat(args);
    expect(r.code, r.stderr.toString()).toBe(0);
    const ref = fixture("out/racks-r0-n3.txt")
      .toString()
      .split("\n")
      .find((l) => l.startsWith("CRUSH rule 0 x 7 "));
    expect(ref).toBeDefined();
    const expected = ref!.replace(/^CRUSH rule 0 x 7 /, "result ");
    const lines = r.stdout.toString().trimEnd().split("\n");
    expect(lines.at(-1)).toBe(expected);
    expect(lines.some((l) => l.startsWith("step 0:"))).toBe(true);
  });

  it("--json parses", async ({ expect }) => {
    const r = await runDsat([...args, "--json"]);
    expect(r.code, r.stderr.toString()).toBe(0);
    const j = JSON.parse(r.stdout.toString()) as { x: number; result: number[]; events: unknown[] };
    expect(j.x).toBe(7);
    expect(Array.isArray(j.result)).toBe(true);
    expect(j.result).toHaveLength(3);
    expect(j.events.length).toBeGreaterThan(0);
  });
});

describe.concurrent("errors: exit 1, one `dsat: ` line, no stack trace", () => {
  const mapping = ["--test", "--show-mappings", "--rule", "0", "--num-rep", "3"];

  function expectCleanError(expect: import("vitest").ExpectStatic, stderr: string): void {
    expect(stderr.startsWith("dsat: "), stderr).toBe(true);
    expect(stderr.trimEnd().split("\n"), stderr).toHaveLength(1);
    expect(stderr).not.toContain(STACK_FRAME);
  }

  it("missing map file", async ({ expect }) => {
    const missing = path.join(tmp, "no-such-map.txt");
    const r = await runDsat(["crush", "test", "-i", missing, ...mapping]);
    expect(r.code).toBe(1);
    const stderr = r.stderr.toString();
    expectCleanError(expect, stderr);
    expect(stderr).toContain(missing);
    expect(r.stdout.length).toBe(0);
  });

  it("syntax error in a text map names file:line:column", async ({ expect }) => {
    const bad = path.join(tmp, "syntax-error.txt");
    // Line 5, column 14: `weght` where `weight` was meant.
    await writeFile(bad, "device 0 osd.0\nhost h {\n  id -1\n  alg straw2\n  item osd.0 weght 1\n}\n");
    const r = await runDsat(["crush", "test", "-i", bad, ...mapping]);
    expect(r.code).toBe(1);
    const stderr = r.stderr.toString();
    expectCleanError(expect, stderr);
    expect(stderr).toContain(`${bad}:5:14`);
  });

  it("truncated binary map reports a byte offset", async ({ expect }) => {
    const trunc = path.join(tmp, "truncated.bin");
    await writeFile(trunc, fixture("bin/racks.bin").subarray(0, 100));
    const r = await runDsat(["crush", "test", "-i", trunc, ...mapping]);
    expect(r.code).toBe(1);
    const stderr = r.stderr.toString();
    expectCleanError(expect, stderr);
    expect(stderr).toContain(trunc);
    expect(stderr).toMatch(/byte \d+/);
  });

  it("unknown rule name", async ({ expect }) => {
    const args = ["--test", "--show-mappings", "--rule", "no_such_rule", "--num-rep", "3"];
    const r = await runDsat(["crush", "test", "-i", RACKS_TXT, ...args]);
    expect(r.code).toBe(1);
    const stderr = r.stderr.toString();
    expectCleanError(expect, stderr);
    expect(stderr).toContain("no_such_rule");
  });

  it("--weight with an odd number of values", async ({ expect }) => {
    const r = await runDsat(["crush", "test", "-i", RACKS_TXT, ...mapping, "--weight", "3"]);
    expect(r.code).toBe(1);
    expectCleanError(expect, r.stderr.toString());
    expect(r.stdout.length).toBe(0);
  });

  it("unknown option", async ({ expect }) => {
    const r = await runDsat(["crush", "test", "-i", RACKS_TXT, "--no-such-option"]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    const stderr = r.stderr.toString();
    expect(stderr).toContain("--no-such-option");
    expect(stderr).not.toContain(STACK_FRAME);
  });
});

describe.concurrent("dsat top level", () => {
  it("--version prints package.json's version", async ({ expect }) => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { version: string };
    const r = await runDsat(["--version"]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString().trim()).toBe(pkg.version);
  });
});
