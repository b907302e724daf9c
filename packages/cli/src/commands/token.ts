import { newBearerToken, tokenFileLine } from "@pulse/config";
import { sources } from "@pulse/seeds";
import { UsageError } from "../cli-error";
import { printJson, type CliIo } from "../io";

/**
 * `pulse token new --source S`: a bearer token for the HTTPS door (services/feeds-http). Prints
 * the token once (it is stored nowhere) and the line to add to FEEDS_HTTP_TOKENS_FILE, which
 * holds only its SHA-256. The door re-reads the file when it changes.
 */
export async function tokenNew(io: CliIo, o: { source?: string; json?: boolean }): Promise<number> {
  const known = sources.map((s) => s.id);
  if (!o.source || !known.includes(o.source)) {
    throw new UsageError(`--source must be a seeded source (${known.join(", ")}), got ${JSON.stringify(o.source ?? "")}`);
  }
  const token = newBearerToken();
  const line = tokenFileLine(o.source, token);
  if (o.json) {
    printJson(io, { source: o.source, token, tokens_file_line: line });
    return 0;
  }
  io.stdout.write(
    [
      `Token for ${o.source} (shown once; give it to the producer over a safe channel):`,
      ``,
      `  ${token}`,
      ``,
      `Add this line to FEEDS_HTTP_TOKENS_FILE (it holds only the token's SHA-256; the door re-reads the file):`,
      ``,
      `  ${line}`,
      ``,
    ].join("\n"),
  );
  return 0;
}
