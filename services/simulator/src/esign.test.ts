import { describe, expect, it } from "vitest";
import { EsignProcess } from "./esign";

// Wednesday 2026-12-02, 10:00 in Nghệ An: the morning's peak of signing.
const wednesday10am = Date.parse("2026-12-02T10:00:00+07:00");

describe("e-sign at a high rate", () => {
  it("draws a slot of more documents than a call takes arguments, each with its own id", () => {
    const p = new EsignProcess(7, 800, wednesday10am, "t");
    const rs = p.take(wednesday10am + 600_000);
    expect(rs.length).toBeGreaterThan(150_000);
    expect(new Set(rs.map((r) => r.id)).size).toBe(rs.length);
    // In time order, as the simulator sends them.
    expect(rs.findIndex((r, i) => i > 0 && r.tsMs <= rs[i - 1]!.tsMs)).toBe(-1);
  });
});
