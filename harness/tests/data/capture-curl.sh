#!/usr/bin/env bash
# Regenerates the captured curl outputs its classifier test (curl_classifier_test.cpp) is fed with:
# the default suite between curl and our endpoints, run with the flags harness/peers/curl.json gives.
# Usage: capture-curl.sh TLSMATRIX_BINARY [PKI_DIR]
exec "$(dirname "$0")/capture-from-run.sh" curl "$@"
