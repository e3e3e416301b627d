// The error catalogue: every code says whether a resend may succeed, and the client's errors carry it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DsatError } from "../../src/client/index.ts";
import { ERROR_CATALOGUE, ErrorCode, isRetryableError } from "../../src/protocol/index.ts";

describe("error codes", () => {
  it("only refusals where nothing ran are retryable: overload, satellites away, a deposed leader", () => {
    const retryable = Object.values(ErrorCode).filter((code) => isRetryableError(code));
    expect(retryable.sort()).toEqual(["DSAT_ERR_NOT_LEADER", "DSAT_ERR_NO_SATELLITE", "DSAT_ERR_OVERLOADED"]);
    expect(isRetryableError("DSAT_ERR_SOMETHING_NEW")).toBe(false);
  });

  it("a DsatError says whether its request may be sent again", () => {
    expect(new DsatError(ErrorCode.overloaded, "busy").retryable).toBe(true);
    expect(new DsatError(ErrorCode.failed, "no").retryable).toBe(false);
    expect(new DsatError("DSAT_ERR_CLOSED", "closed").retryable).toBe(false);
  });

  it("docs/protocol.md's error table lists every code of the catalogue, and no other", () => {
    const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
    const documented = [...doc.matchAll(/^\| `(DSAT_ERR_[A-Z_]+)`/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
  });
});
