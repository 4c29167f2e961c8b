#!/usr/bin/env bash
# Regenerates the captured node outputs its classifier test (node_classifier_test.cpp) is fed with:
# the default suite and the catalog's defects (defect-scenarios/: every defect entity, in both roles)
# between node and our endpoints, run with the flags harness/peers/node.json gives.
# Usage: capture-node.sh TLSMATRIX_BINARY [PKI_DIR]
set -euo pipefail
here=$(dirname "$0")
"$here/capture-from-run.sh" node "$@"
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" node "$@"
# a mismatched key that only java presents (ours refuses it): node verifying it
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" --filter '*key-mismatch*' --against java node "$@"
# JSSE presenting a badly signed client certificate: Node's server reports it in words of its own
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" --filter 'defect-client-bad-signature/*' --against java node "$@"
