#!/usr/bin/env bash
# Regenerates the captured go outputs its classifier test (go_classifier_test.cpp) is fed with:
# the default suite and the catalog's defects (defect-scenarios/: every defect entity, in both roles)
# between go and our endpoints, run with the flags harness/peers/go.json gives.
# Usage: capture-go.sh TLSMATRIX_BINARY [PKI_DIR]
set -euo pipefail
here=$(dirname "$0")
"$here/capture-from-run.sh" go "$@"
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" go "$@"
# a mismatched key that only java presents (ours refuses it): go verifying it
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" --filter '*key-mismatch*' --against java go "$@"
