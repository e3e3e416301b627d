// Job inputs on the wire (docs/locality.md): replica host names, the hostname map file, bounds
// checked on the bytes before decoding, and the journal record that keeps them.
import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord, type JournalRecord } from "../../src/journal/core.ts";
import {
  DEFAULT_LIMITS,
  decodeInputs,
  encode,
  encodeInputs,
  parseHostnameMap,
  replicaHost,
} from "../../src/protocol/index.ts";

describe("replica addresses", () => {
  it("name their host in every form, lower case; none for local paths", () => {
    expect(replicaHost("disco://NAS-1/logs/a")).toBe("nas-1");
    expect(replicaHost("http://r2h1:8989/logs/a")).toBe("r2h1");
    expect(replicaHost("dfs://user@r3h2/x")).toBe("r3h2");
    expect(replicaHost("r1h2:/logs/a")).toBe("r1h2");
    expect(replicaHost("http://[fe80::1]:80/x")).toBe("fe80::1");
    expect(replicaHost("file:///data/x")).toBeNull();
    expect(replicaHost("/data/x")).toBeNull();
  });
});

describe("the hostname map file", () => {
  it("reads Disco's `storage node` lines, skips comments, names a bad line", () => {
    expect(parseHostnameMap("# map\nNAS-1 r1h1\n\n  nas-2\tr2h1  # second\n", "m")).toEqual([
      ["nas-1", "r1h1"],
      ["nas-2", "r2h1"],
    ]);
    expect(() => parseHostnameMap("nas-1 r1h1\nnas-2\n", "map.txt")).toThrow(
      'map.txt:2: expected "storage-name host-name", found "nas-2"',
    );
  });
});

describe("inputs' bytes", () => {
  it("round-trip, and refuse shapes and bounds in a sentence before decoding", () => {
    const inputs = [["disco://h1/a", "h2:/a"], ["h3:/b"]];
    expect(decodeInputs(encodeInputs(inputs, DEFAULT_LIMITS), DEFAULT_LIMITS)).toEqual(inputs);
    expect(decodeInputs(encode([]), DEFAULT_LIMITS)).toBe("inputs must hold at least one input");
    expect(decodeInputs(encode([["a:/1"], "x"]), DEFAULT_LIMITS)).toBe(
      "inputs[1] must be a non-empty list of replica addresses",
    );
    expect(decodeInputs(encode([[["deep"]]]), DEFAULT_LIMITS)).toBe("inputs nests deeper than 2 levels");
    expect(decodeInputs(encode(Array(257).fill(["a:/1"])), DEFAULT_LIMITS)).toBe(
      "inputs has a array of 257 items, more than 256",
    );
    const big = encode([["x".repeat(1000)], ...Array(70).fill(["y".repeat(1000)])]);
    expect(decodeInputs(big, DEFAULT_LIMITS)).toMatch(/^inputs has \d+ bytes, more than 65536$/);
    expect(decodeInputs("not bytes", DEFAULT_LIMITS)).toBe(
      "inputs must be MessagePack bytes (a bin element)",
    );
    expect(() => encodeInputs([["a:/1", 7]], DEFAULT_LIMITS)).toThrow("inputs[0][1] must be an address");
  });
});

describe("the journal's accepted record", () => {
  const accepted: JournalRecord = {
    k: "accepted",
    id: "j1",
    type: "scan",
    firstType: "scan",
    step: 0,
    steps: [],
    key: null,
    payload: [Buffer.from("p")],
    raw: false,
    deadlineAt: 2,
    receivedAt: 1,
    origin: { kind: "publish", route: null, correlation: null, service: null, owner: null },
  };

  it("keeps a job's inputs as a trailing field, and reads records without it as before", () => {
    const bytes = encodeInputs([["h1:/a"]], DEFAULT_LIMITS);
    const withInputs = decodeRecord(encodeRecord({ ...accepted, inputs: bytes }));
    expect(withInputs).toMatchObject({ k: "accepted", inputs: bytes });
    const without = encodeRecord(accepted);
    expect(decodeRecord(without)).toEqual(accepted);
    // A record with inputs is the old record plus one field: older readers destructure 12 and skip it.
    expect(encodeRecord({ ...accepted, inputs: bytes }).length).toBeGreaterThan(without.length);
  });
});
