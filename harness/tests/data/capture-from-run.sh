#!/usr/bin/env bash
# Captures a peer's real outputs for its classifier test by running a suite between the
# peer and our endpoints with `tlsmatrix run` — so the peer runs with exactly the flags its
# harness/peers/<peer>.json gives it — and copying each case's output files into data/<peer>/:
#   <scenario>.<tls>.client.{out,err,exit}  from <scenario>/<tls>/<peer>->local
#   <scenario>.<tls>.server.{out,err,exit}  from <scenario>/<tls>/local-><peer>
# Usage: capture-from-run.sh [--scenarios DIR] [--filter GLOB] [--against OTHER] PEER TLSMATRIX_BINARY [PKI_DIR]
#   (called by capture-<peer>.sh). Without --scenarios: the default suite, and every earlier capture
#   of the peer is replaced. With --scenarios DIR (e.g. defect-scenarios/, the catalog's defects in
#   both roles): that suite, replacing only the captures of its scenarios. --filter: only the cases
#   matching GLOB. --against OTHER: PEER against OTHER (both ways) instead of our endpoints, into
#   <scenario>-vs-<OTHER>.<tls>.<side>.* (a presenter ours refuses to be, e.g. a mismatched key).
set -euo pipefail
scenarios= filter= against=local
while [[ ${1:-} == --* ]]; do
  case $1 in
    --scenarios) scenarios=$(cd "$2" && pwd) ;;
    --filter) filter=$2 ;;
    --against) against=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
peer=$1 tlsmatrix=$2 pki=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/$peer"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(run --peers "local,$peer" --jobs 2 --out "$tmp/results")
[[ $against != local ]] && args=(run --peers "$against,$peer" --cross --jobs 2 --out "$tmp/results")
[[ -n $filter ]] && args+=(--filter "$filter")
[[ -n $pki ]] && args+=(--pki "$pki")
[[ -n $scenarios ]] && args+=(--scenarios "$scenarios")
"$tlsmatrix" "${args[@]}" > "$tmp/run.log" 2>&1 || true # cases that do not pass are captured too
mkdir -p "$out"
[[ -z $scenarios && -z $filter && $against == local ]] && rm -f "$out"/*.out "$out"/*.err "$out"/*.exit
/usr/bin/python3 - "$tmp/results/latest/results.json" "$peer" "$out" "$against" <<'PY'
import glob, json, os, shutil, sys
results, peer, out, against = sys.argv[1:]
suffix = "" if against == "local" else "-vs-" + against
r = json.load(open(results))
for s in {c["scenario"] for c in r["cases"]}:  # a scenario's earlier captures go
    for f in glob.glob(os.path.join(out, glob.escape(s + suffix) + ".*.*.*")):
        os.remove(f)
n = 0
for c in r["cases"]:
    for side, other in (("client", "server"), ("server", "client")):
        if c[side] != peer or c[other] != against or c["verdict"]["grade"] == "not_applicable":
            continue
        base = os.path.join(out, f'{c["scenario"]}{suffix}.{c["tls"]}.{side}')
        for ext in ("out", "err"):
            src = os.path.join(c["logs"]["dir"], f"{side}.{ext}")
            if os.path.exists(src):
                shutil.copyfile(src, f"{base}.{ext}")
            else:
                open(f"{base}.{ext}", "w").close()
        code = c["observation"][side]["exit_code"]
        open(f"{base}.exit", "w").write(f'{code if code is not None else -1}\n')
        n += 1
print(f"captured {n} outputs of {peer} into {out}")
PY
