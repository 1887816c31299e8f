#!/usr/bin/env bash
# Are this tree's `scs report` files byte-identical to another tree's (issue 23)?
#
#   benchmarks/report_identical.sh /work/main AS_OF KNOWN_AT LEDGER...
#
# Writes the report (plain and --public) of the same ledgers at the same known-at with the
# other tree's code (PYTHONPATH=OTHER) and with this tree's, then compares the folders with
# `diff -r`: exit 0 and "identical" when every file is the same, else the differences.
set -euo pipefail
other=$1 as_of=$2 known_at=$3
shift 3
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-$here/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for public in "" "--public"; do
  for tree in "$other" "$here"; do
    out="$work/$(basename "$tree")-${public:-plain}"
    PYTHONPATH="$tree" "$python" -m scs_cli report "$@" --as-of "$as_of" \
      --known-at "$known_at" --output "$out" $public > /dev/null 2>&1
  done
  if diff -r "$work/$(basename "$other")-${public:-plain}" "$work/$(basename "$here")-${public:-plain}"
  then echo "identical${public:+ (public)}: $(find "$work/$(basename "$here")-${public:-plain}" -type f | wc -l) files"
  else status=1
  fi
done
exit $status
