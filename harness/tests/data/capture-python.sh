#!/usr/bin/env bash
# Regenerates the captured python outputs its classifier test (python_classifier_test.cpp) is fed with:
# the default suite and the catalog's defects (defect-scenarios/: every defect entity, in both roles)
# between python and our endpoints, run with the flags harness/peers/python.json gives.
# Usage: capture-python.sh TLSMATRIX_BINARY [PKI_DIR]
set -euo pipefail
here=$(dirname "$0")
"$here/capture-from-run.sh" python "$@"
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" python "$@"
# a mismatched key that only java presents (ours refuses it): python verifying it
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" --filter '*key-mismatch*' --against java python "$@"
