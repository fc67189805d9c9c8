#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a bounded time each:
#
#   fuzz/run.sh SECONDS [TARGET...]
#   fuzz/run.sh --replay [TARGET...]
#
# The first needs the nightly toolchain; it installs cargo-fuzz when missing.
# The second builds the targets with the default (stable) toolchain and runs
# each committed seed through its target once: no search (libFuzzer needs
# nightly's coverage instrumentation for that), but every seed and every
# check in the targets still runs, on machines without nightly. Each
# target starts from its committed seeds (fuzz/corpus/TARGET, left untouched)
# plus what earlier runs found (fuzz/target/corpus/TARGET, where new inputs go).
# A panic, a hang (over 10 s per input) or more than 2 GiB of memory is a
# crash: the input lands in fuzz/artifacts/TARGET/ and the script fails.
# FUZZ_SEED=N fixes libFuzzer's random seed (CI uses 1, so a short pass
# explores the same inputs first on every run; 0, the default, picks one).
# FUZZ_SANITIZER=none builds without AddressSanitizer (faster to build and run;
# the code under test is safe Rust apart from its memory maps).
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:?usage: fuzz/run.sh SECONDS|--replay [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(frame recovery snapshot transcoder json_render)
fi
mkdir -p target/fuzz-logs

if [ "$seconds" = --replay ]; then
  cargo build --release --bins
  for t in "${targets[@]}"; do
    log="target/fuzz-logs/$t-replay.log"
    if ! cargo run --release --quiet --bin "$t" -- -runs=0 "corpus/$t" >"$log" 2>&1; then
      printf '%-12s CRASH (log: fuzz/%s)\n' "$t" "$log"
      grep -E 'panicked|ERROR: libFuzzer' "$log" | head -n 4 || true
      exit 1
    fi
    printf '%-12s %4s seeds replayed, 0 crashes\n' "$t" "$(ls "corpus/$t" | wc -l)"
  done
  exit 0
fi

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --locked
fi

# Debug assertions on: overflow checks and debug_assert! count as crashes too.
flags=(--debug-assertions --sanitizer "${FUZZ_SANITIZER:-address}")
# One build serves every target.
cargo +nightly fuzz build "${flags[@]}"

failed=()
for t in "${targets[@]}"; do
  mkdir -p "target/corpus/$t"
  log="target/fuzz-logs/$t.log"
  if cargo +nightly fuzz run "${flags[@]}" "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -seed="${FUZZ_SEED:-0}" \
    >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    printf '%-12s %10s executions in %s s, 0 crashes\n' "$t" "${runs:-?}" "$seconds"
  else
    printf '%-12s CRASH (log: fuzz/%s)\n' "$t" "$log"
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -n 8 || true
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; reproduce one in fuzz/ with" \
    "cargo +nightly fuzz run ${flags[*]} TARGET artifacts/TARGET/FILE" >&2
  exit 1
fi
