import { describe, expect, it } from "vitest";
import { uniqueTag } from "./unique-tag";

describe("uniqueTag", () => {
  it("is short, unique and safe for stream names", () => {
    const tags = new Set(Array.from({ length: 1000 }, () => uniqueTag("ingest-test.x")));
    expect(tags.size).toBe(1000);
    for (const t of tags) expect(t).toMatch(/^ingest_test_x_[0-9a-z]{8}$/);
  });
});
