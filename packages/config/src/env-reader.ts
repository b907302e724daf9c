/** Thrown when a variable of the environment is set to something unusable; names the variable. */
export class ConfigError extends Error {
  readonly code = "PULSE_BAD_CONFIG";
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads typed values from an environment, each with its default. */
export function envReader(env: Env) {
  const raw = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  return {
    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },
    optional(name: string): string | undefined {
      return raw(name);
    },
    int(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
      const v = raw(name);
      if (v === undefined) return fallback;
      if (!/^-?\d+$/.test(v)) throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(v)}`);
      const n = Number(v);
      if (n < min || n > max) throw new ConfigError(name, `expected ${min}..${max}, got ${n}`);
      return n;
    },
    url(name: string, fallback: string | undefined, protocols: string[]): string | undefined {
      const v = raw(name) ?? fallback;
      if (v === undefined) return undefined;
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        throw new ConfigError(name, `not a URL: ${JSON.stringify(v)}`);
      }
      if (!protocols.includes(u.protocol)) throw new ConfigError(name, `expected ${protocols.join(" or ")}, got ${u.protocol}`);
      return v;
    },
  };
}
