#!/usr/bin/env bash
# Captures the real cases reconcile_test.cpp replays: both observations and the decoded trace of
# one case each, from `tlsmatrix run` with the openssl CLI set up the way users get it wrong.
#   openssl-advisory: openssl.json without -verify_return_error (verification only advisory: s_client
#                     and s_server print "verify error" and carry on)
#   openssl-eager:    an s_client whose definition claims completion from the connection banner and
#                     reads nothing else (a log that says "done" while the wire says "refused")
#   openssl-mute:     openssl.json whose classifier reads alerts but no verify error (an adapter
#                     that does not understand its stack's words: the wire still says who refused)
# Usage: harness/tests/data/reconcile/capture.sh [path/to/tlsmatrix]   (default: build/dev)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../../.." && pwd)
bin=${1:-$top/build/dev/cli/tlsmatrix}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/defs"
python3 - "$top/harness/peers/openssl.json" "$work/defs" <<'PY'
import json, sys
base = json.load(open(sys.argv[1]))
def strip(j):
    if isinstance(j, list):
        return [strip(x) for x in j if x != "-verify_return_error"]
    if isinstance(j, dict):
        return {k: strip(v) for k, v in j.items()}
    return j
advisory = strip(base)
advisory["name"] = "openssl-advisory"
json.dump(advisory, open(sys.argv[2] + "/openssl-advisory.json", "w"), indent=1)
eager = json.loads(json.dumps(base))
eager["name"] = "openssl-eager"
eager["client"]["completed"] = "^CONNECTED\\("
eager["classify"] = [r for r in base["classify"] if "alert_sent_name" in r]
json.dump(eager, open(sys.argv[2] + "/openssl-eager.json", "w"), indent=1)
mute = json.loads(json.dumps(base))
mute["name"] = "openssl-mute"
mute["classify"] = [r for r in base["classify"] if "alert_sent_name" in r or "alert_received_name" in r]
json.dump(mute, open(sys.argv[2] + "/openssl-mute.json", "w"), indent=1)
PY
"$bin" pki generate --out "$work/pki" -q
capture() { # NAME CASE-ID
  local name=$1 id=$2
  "$bin" run --pki "$work/pki" --peer-defs "$work/defs" --no-sanity --out "$work/out" -q \
    --filter "$id" >/dev/null || true
  python3 - "$work/out/latest/results.json" "$id" "$here/$name.json" <<'PY'
import json, sys
cases = [c for c in json.load(open(sys.argv[1]))["cases"] if c["id"] == sys.argv[2]]
assert len(cases) == 1, sys.argv[2] + ": not in the run"
c = cases[0]
keep = {k: c[k] for k in ("id", "expect", "observation", "trace", "resource", "verdict")}
for side in ("client", "server"):  # what the side said of itself, before reconciliation
    o = keep["observation"][side]
    if "overruled" in o:
        o["outcome"], o["reason"] = o["overruled"]["outcome"], o["overruled"]["reason"]
        o["reason_source"] = o["overruled"]["reason_source"]
        del o["overruled"]
with open(sys.argv[3], "w") as f:
    json.dump(keep, f, indent=1)
    f.write("\n")
PY
  echo "captured $id -> $name.json"
}
capture advisory-client-local-server 'server-untrusted-root/1.3/openssl-advisory->local'
capture advisory-client-openssl-server 'server-expired/1.2/openssl-advisory->openssl'
capture advisory-server 'client-untrusted-root/1.3/local->openssl-advisory'
capture eager-client-alert 'server-expired/1.3/openssl-eager->local'
capture genuine-rejection 'server-expired/1.3/openssl->local'
capture genuine-completion 'one-way/1.2/openssl->openssl'
capture mute-client 'server-expired/1.2/openssl-mute->local'
capture mute-server 'client-untrusted-root/1.2/local->openssl-mute'
# unsolicited-answer.json is not captured here: it is server-expired/1.2/node->python from a
# `run --cross` made while the Python peer program still answered a client's close as a request.
