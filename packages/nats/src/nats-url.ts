/** Credentials found inside a NATS URL (`nats://user:pass@host:4222`, or `nats://token@host`). */
export interface UrlCredentials {
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * Splits `NATS_URL` (one server, or several separated by commas) into the servers without any
 * user information, and the credentials some of them carried. nats.js v3 ignores credentials in
 * a URL (the server then sees user ""), so they must travel as connect options instead. Throws
 * when two servers of the list carry different credentials: one connection has one identity.
 */
export function splitNatsUrl(url: string): { servers: string[]; credentials: UrlCredentials } {
  const servers: string[] = [];
  let credentials: UrlCredentials = {};
  let from: string | null = null;
  for (const raw of url.split(",")) {
    const s = raw.trim();
    if (s === "") continue;
    const at = userInfoEnd(s);
    if (at < 0) {
      servers.push(s);
      continue;
    }
    const scheme = s.indexOf("://") >= 0 ? s.slice(0, s.indexOf("://") + 3) : "";
    const info = s.slice(scheme.length, at);
    servers.push(scheme + s.slice(at + 1));
    const colon = info.indexOf(":");
    const found: UrlCredentials =
      colon < 0 ? { token: decode(info) } : { user: decode(info.slice(0, colon)), pass: decode(info.slice(colon + 1)) };
    const key = JSON.stringify(found);
    if (from !== null && from !== key) throw new Error("NATS_URL: the servers carry different credentials; give one user for all");
    from = key;
    credentials = found;
  }
  return { servers, credentials };
}

/** The URL list with every password and token replaced by `***` (users kept): for logs and errors. */
export function redactNatsUrl(url: string): string {
  return url
    .split(",")
    .map((raw) => {
      const s = raw.trim();
      const at = userInfoEnd(s);
      if (at < 0) return s;
      const scheme = s.indexOf("://") >= 0 ? s.slice(0, s.indexOf("://") + 3) : "";
      const info = s.slice(scheme.length, at);
      const colon = info.indexOf(":");
      return `${scheme}${colon < 0 ? "***" : `${info.slice(0, colon)}:***`}@${s.slice(at + 1)}`;
    })
    .join(",");
}

/** Index of the `@` ending the user information of one server URL, or -1. */
function userInfoEnd(s: string): number {
  const start = s.indexOf("://") >= 0 ? s.indexOf("://") + 3 : 0;
  // The authority ends at the first "/", "?" or "#"; a password may itself hold "@" only escaped
  // (%40), but be lenient and take the last "@" of the authority.
  let end = s.length;
  for (const c of ["/", "?", "#"]) {
    const i = s.indexOf(c, start);
    if (i >= 0 && i < end) end = i;
  }
  return s.lastIndexOf("@", end - 1) >= start ? s.lastIndexOf("@", end - 1) : -1;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
