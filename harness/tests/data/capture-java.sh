#!/usr/bin/env bash
# Regenerates the captured java outputs its classifier test (java_classifier_test.cpp) is fed with:
# the default suite and the catalog's defects (defect-scenarios/: every defect entity, in both roles)
# between java and our endpoints, run with the flags harness/peers/java.json gives.
# Usage: capture-java.sh TLSMATRIX_BINARY [PKI_DIR]
set -euo pipefail
here=$(dirname "$0")
"$here/capture-from-run.sh" java "$@"
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" java "$@"
# a mismatched key that only gnutls presents (ours refuses it): java verifying it
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" --filter '*key-mismatch*' --against gnutls java "$@"
# botan presenting a mismatched key (TLS 1.2 only): JSSE verifying its ServerKeyExchange
"$here/capture-from-run.sh" --scenarios "$here/defect-scenarios" --filter 'defect-server-key-mismatch/*' --against botan java "$@"
