#!/usr/bin/env bash
# The calendar matrix (docs/testing-time.md): the test files whose figures hang on the day or the
# hour, each run under every calendar clock of PULSE_TEST_CLOCK (a past Sunday 02:00 UTC+7, a past
# working-day 10:00, a running clock that crosses a UTC+7 midnight 10 s after it starts).
#   scripts/calendar-matrix.sh                 every clock
#   scripts/calendar-matrix.sh sunday          one clock (what CI runs after pnpm check)
# Extra vitest arguments go after `--`. Exits non-zero on the first clock that fails.
set -euo pipefail
cd "$(dirname "$0")/.."

files=(
  packages/testkit/src/calendar-clock.test.ts
  test/exporter-ingest-e2e.test.ts
  test/live-e2e.test.ts
)
kinds=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do kinds+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#kinds[@]} -gt 0 ] || kinds=(sunday weekday midnight)

started=$SECONDS
for kind in "${kinds[@]}"; do
  t=$SECONDS
  printf '\n==> PULSE_TEST_CLOCK=%s\n' "$kind"
  PULSE_TEST_CLOCK=$kind npx vitest run "${files[@]}" "$@"
  printf '==> %s passed in %ds\n' "$kind" $((SECONDS - t))
done
printf '\n==> calendar matrix (%s): passed in %ds\n' "${kinds[*]}" $((SECONDS - started))
