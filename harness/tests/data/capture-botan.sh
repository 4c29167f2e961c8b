#!/usr/bin/env bash
# Regenerates the captured botan outputs its classifier test (botan_classifier_test.cpp) is fed with:
# the default suite between botan and our endpoints, run with the flags harness/peers/botan.json gives.
# Usage: capture-botan.sh TLSMATRIX_BINARY [PKI_DIR]
exec "$(dirname "$0")/capture-from-run.sh" botan "$@"
