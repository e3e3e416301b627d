// Placement when most satellites are out (src/orchestrator/placement.ts, appendMissed): CRUSH
// gives up after its 50 tries, and with 45 of 50 devices out some x's got no candidate at all, so a
// job was refused (NO_SATELLITE) while five satellites had room. Every x now gets one candidate per
// failure domain that has a placeable satellite, the same ones every time, and x's CRUSH placed in
// full keep exactly their list.
import { describe, expect, it } from "vitest";
import { hashKey, Mapper } from "../../src/crush/index.ts";
import { TypePlacement } from "../../src/orchestrator/index.ts";

function fleet(hosts: number) {
  return Array.from({ length: hosts }, (_, device) => ({
    device,
    satelliteId: `s${device}`,
    location: [
      ["rack", `r${device % 5}`],
      ["host", `h${device}`],
    ] as Array<[string, string]>,
    weight: 1,
    placeable: true,
  }));
}

const XS = Array.from({ length: 5000 }, (_, i) => hashKey(`job-${i}`));

describe("placement with most devices out", () => {
  it("45 of 50 hosts out: every job gets a candidate on each of the 5 live hosts' domains", () => {
    const placement = new TypePlacement(
      "echo",
      ["rack", "host"],
      { replicas: 3, failureDomain: "host" },
      fleet(50),
      0,
    );
    const live = new Set(["s3", "s17", "s26", "s38", "s44"]);
    for (let device = 0; device < 50; device++)
      if (!live.has(`s${device}`)) placement.setPlaceable(device, false);
    let short = 0;
    for (const x of XS) {
      const ids = placement.candidates(x, false);
      if (ids.length < 3) short++;
      expect(ids.every((id) => live.has(id))).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      // Deterministic: the same x, the same list (keyed jobs keep their satellite).
      placement.candidates(x ^ 1, false);
      expect(placement.candidates(x, false)).toEqual(ids);
    }
    expect(short).toBe(0);
  });

  it("one live host of 50, rack failure domain: that one, for every job", () => {
    const placement = new TypePlacement(
      "echo",
      ["rack", "host"],
      { replicas: 3, failureDomain: "rack" },
      fleet(50),
      0,
    );
    for (let device = 0; device < 50; device++) if (device !== 31) placement.setPlaceable(device, false);
    for (const x of XS) expect(placement.candidates(x, false)).toEqual(["s31"]);
  });

  it("candidate lists CRUSH filled keep exactly CRUSH's answer (nothing added, nothing reordered)", () => {
    const placement = new TypePlacement(
      "echo",
      ["rack", "host"],
      { replicas: 3, failureDomain: "rack" },
      fleet(12),
      0,
    );
    const mapper = new Mapper(placement.crushMap);
    const weights = new Uint32Array(12).fill(0x10000);
    const out = new Int32Array(3);
    for (const x of XS) {
      const length = mapper.mapInto(0, x, 3, weights, out);
      expect(placement.candidates(x, false)).toEqual(
        [...out.subarray(0, length)].map((device) => `s${device}`),
      );
    }
  });
});
