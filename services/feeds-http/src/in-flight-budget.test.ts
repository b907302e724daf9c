import { describe, expect, it } from "vitest";
import { InFlightBudget } from "./in-flight-budget";

describe("InFlightBudget", () => {
  it("grants in the order asked, within both bounds, and lets an oversized group go alone", async () => {
    const b = new InFlightBudget(10, 1000);
    const order: string[] = [];
    await b.take(6, 100);
    const second = b.take(6, 100).then(() => order.push("second"));
    // Fits on its own, but waits behind the earlier request: no bypass.
    const third = b.take(1, 10).then(() => order.push("third"));
    await Promise.resolve();
    expect(order).toEqual([]);
    b.give(6, 100);
    await Promise.all([second, third]);
    expect(order).toEqual(["second", "third"]);
    expect(b.held).toBe(7);
    const huge = b.take(50, 5000).then(() => order.push("huge"));
    b.give(6, 100);
    await Promise.resolve();
    expect(order).toHaveLength(2);
    b.give(1, 10);
    await huge;
    expect(b.held).toBe(50);
    const bytes = b.take(1, 1).then(() => order.push("bytes"));
    b.give(50, 5000);
    await bytes;
    expect(order).toEqual(["second", "third", "huge", "bytes"]);
  });
});
