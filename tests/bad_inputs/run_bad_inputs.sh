#!/usr/bin/env bash
# The bad-input suite: every case of make_bad_inputs through qexec must end in
# exit 1 and exactly one stderr line "error: ...EXPECTED...", within 30 s and
# 2 GB of memory. Prints the case -> message table.
# usage: run_bad_inputs.sh BUILD_DIR
set -uo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tests/make_bad_inputs" "$work/cases" >/dev/null || exit 1
failed=0
echo "| case | qexec says |"
echo "|---|---|"
while IFS=$'\t' read -r name flags expected; do
  [ "$flags" = - ] && flags=""
  # shellcheck disable=SC2086
  /usr/bin/time -f %M -o "$work/rss" timeout 30 "$build/tools/qexec" --onnx="$work/cases/$name.onnx" $flags \
    --iterations=1 --duration=0 --warmUp=0 >/dev/null 2>"$work/err"
  rc=$?
  rss_kb=$(tail -1 "$work/rss" | tr -dc 0-9)
  message=$(head -c 300 "$work/err" | tr '\n' ' ')
  echo "| $name | \`${message//$work\/cases\//}\` |"
  if [ $rc -ne 1 ] || [ "$(wc -l <"$work/err")" -ne 1 ] || ! grep -qF "$expected" "$work/err" ||
      ! grep -q '^error: ' "$work/err"; then
    echo "FAILED: $name: rc=$rc, wanted one 'error:' line with '$expected'"; failed=1
  elif [ "${rss_kb:-0}" -gt 2097152 ]; then
    echo "FAILED: $name: used ${rss_kb} kB"; failed=1
  fi
done <"$work/cases/cases.tsv"
exit $failed
