/**
 * `fn`, remembered for up to `max` distinct keys, then forgotten all at once: for lookups on the
 * hot path whose keys come from a small set (a feed's subjects) that a stray producer could still
 * make unbounded.
 */
export function boundedMemo<V>(fn: (key: string) => V, max = 1_000): (key: string) => V {
  const seen = new Map<string, V>();
  return (key) => {
    if (seen.has(key)) return seen.get(key)!;
    if (seen.size >= max) seen.clear();
    const value = fn(key);
    seen.set(key, value);
    return value;
  };
}
