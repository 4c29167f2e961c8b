// A run's own copy of a PKI directory: the files its manifest names, copied under the directory's
// shared lock and checked against the manifest, so that every case of a run reads one issued PKI
// whatever happens to the directory it came from.
#pragma once

#include <filesystem>
#include <string>

namespace pki {

struct PkiSnapshot {
  std::filesystem::path dir;
  // The content fingerprint (digest.hpp) of every file of the copy: which PKI bytes were used.
  std::string sha256;
  // How the files were checked against the manifest: "file digests" (its file_sha256, written by
  // `pki generate` since it records them), or, for an older manifest without them, "certificate
  // fingerprints" (each entity's sha256_fingerprint; keys and CRLs are then vouched for only by a
  // second read that must agree with the first).
  std::string verified_by;
};

// Copies the PKI directory `source` into `target` (which must not exist; it appears whole, by a
// rename, mode 0700, keys and PKCS#12 files 0600): every file manifest.json names, read under
// `source`'s shared DirLock (writers that take the lock — `pki generate`, a run issuing the default
// PKI — wait, and cannot swap the tree away meanwhile), then checked as `verified_by` says. A copy
// that does not match is taken again once nothing in `source` has changed for 100 ms (a program
// that takes no lock, such as a `cp` into a directory of one's own, may be at work), `attempts`
// times in all. Throws tlsmatrix::Error: Errc::unstable_input when no copy matched (the message
// names the file and what the manifest expected), Errc::invalid_input when `source` holds no
// manifest or the manifest names files outside it, Errc::io.
[[nodiscard]] PkiSnapshot snapshot_pki(const std::filesystem::path& source,
                                       const std::filesystem::path& target, int attempts = 3);

// Checks the PKI directory `dir` against its manifest as snapshot_pki checks a copy, and returns
// its fingerprint (over the files the manifest names). Throws tlsmatrix::Error:
// Errc::unstable_input naming the first file that does not match, Errc::invalid_input, Errc::io.
[[nodiscard]] PkiSnapshot verify_pki(const std::filesystem::path& dir);

} // namespace pki
