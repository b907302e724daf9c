import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "@pulse/db";
import { proxiedUrl, startTcpProxy, urlTarget, type TcpProxy } from "./tcp-proxy";
import { sharedPgUrl } from "./test-database";

describe("startTcpProxy", () => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await startTcpProxy(urlTarget(sharedPgUrl()));
  });
  afterAll(() => proxy.close());

  it("relays queries, fails them while cut, and works again after restore", async () => {
    const url = proxiedUrl(sharedPgUrl(), proxy);
    expect(url).toContain(`127.0.0.1:${proxy.port}`);

    const db = createDb({ url, poolMax: 1 });
    try {
      const ok = await db.pool.query<{ n: number }>("SELECT 1 AS n");
      expect(ok.rows[0]?.n).toBe(1);
      expect(proxy.connections).toBe(1);

      proxy.cut();
      expect(proxy.connections).toBe(0);
      // The live connection is reset, and a new one is refused.
      await expect(db.pool.query("SELECT 1")).rejects.toThrow();
      await expect(db.pool.query("SELECT 1")).rejects.toThrow();

      proxy.restore();
      const again = await db.pool.query<{ n: number }>("SELECT 2 AS n");
      expect(again.rows[0]?.n).toBe(2);
    } finally {
      await db.close();
    }
  });

  it("rewrites only host and port of a URL", () => {
    expect(proxiedUrl("postgres://u:p@db.example:6543/x?sslmode=disable", { host: "127.0.0.1", port: 9 })).toBe(
      "postgres://u:p@127.0.0.1:9/x?sslmode=disable",
    );
  });
});
