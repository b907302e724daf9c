/**
 * docs/feeds-http.openapi.yaml is a valid OpenAPI 3.1 document (checked by @readme/openapi-parser,
 * which validates 3.1 against its JSON schema and resolves every $ref), and names what the door
 * answers: its paths, methods, status codes and the verdict keys in the order the door writes them.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse, validate } from "@readme/openapi-parser";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { doorOutcomes, feeds } from "@pulse/contracts";
import { describe, expect, it } from "vitest";

const file = resolve(import.meta.dirname, "..", "docs", "feeds-http.openapi.yaml");

describe("docs/feeds-http.openapi.yaml", () => {
  it("is valid OpenAPI 3.1", async () => {
    const r = await validate(file);
    expect(r.valid ? [] : r.errors).toEqual([]);
    expect(r.specification).toBe("OpenAPI");
  });

  it("the validator is real: a 3.1 document with a response lacking its description is refused", async () => {
    const bad = join(mkdtempSync(join(tmpdir(), "pulse-openapi-")), "bad.yaml");
    writeFileSync(bad, readFileSync(file, "utf8").replace("description: Every line read, each with its verdict.", "x-nothing: 1"));
    const r = await validate(bad);
    expect(r.valid).toBe(false);
  });

  it("says what the door does: its feeds, statuses and verdict keys", async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const doc: any = await parse(file);
    expect(doc.openapi).toBe("3.1.0");
    const post = doc.paths["/v1/feeds/{feed}"].post;
    expect(post.parameters[0].schema.enum).toEqual([...feeds]);
    expect(Object.keys(post.responses).sort()).toEqual([
      "200",
      "400",
      "401",
      "403",
      "404",
      "405",
      "408",
      "411",
      "413",
      "415",
      "429",
      "503",
    ]);
    expect(doc.components.schemas.Verdicts.required).toEqual([...doorOutcomes, "results"]);
    expect(doc.components.schemas.Outcome.enum).toEqual([...doorOutcomes]);
    expect(readFileSync(file, "utf8")).toContain("pnpm pulse token new");
  });
});
