#!/usr/bin/env bash
# Regenerates the captured curl outputs its classifier test (curl_classifier_test.cpp) is fed with:
# the default suite and the catalog's defects (defect-scenarios/: every defect entity, in both roles)
# between curl and our endpoints, run with the flags harness/peers/curl.json gives.
# Usage: capture-curl.sh TLSMATRIX_BINARY [PKI_DIR]
set -euo pipefail
here=$(dirname "$0")
"$here/capture-from-run.sh" curl "$@"
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" curl "$@"
# a mismatched key that only java presents (ours refuses it): curl verifying it
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" --filter '*key-mismatch*' --against java curl "$@"
