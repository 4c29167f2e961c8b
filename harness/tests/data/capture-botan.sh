#!/usr/bin/env bash
# Regenerates the captured botan outputs its classifier test (botan_classifier_test.cpp) is fed with:
# the default suite and the catalog's defects (defect-scenarios/: every defect entity, in both roles)
# between botan and our endpoints, run with the flags harness/peers/botan.json gives.
# Usage: capture-botan.sh TLSMATRIX_BINARY [PKI_DIR]
set -euo pipefail
here=$(dirname "$0")
"$here/capture-from-run.sh" botan "$@"
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" botan "$@"
