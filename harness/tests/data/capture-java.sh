#!/usr/bin/env bash
# Regenerates the captured java outputs its classifier test (java_classifier_test.cpp) is fed with:
# the default suite between java and our endpoints, run with the flags harness/peers/java.json gives.
# Usage: capture-java.sh TLSMATRIX_BINARY [PKI_DIR]
exec "$(dirname "$0")/capture-from-run.sh" java "$@"
