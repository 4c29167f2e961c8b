// Writes an issued PKI to a directory (atomically) together with its manifest.json.
#pragma once

#include <filesystem>
#include <string>

#include "pki/issuer.hpp"

namespace pki {

struct Formats {
  bool der = true;    // <name>.der
  bool p12 = true;    // <name>.p12 (password: the spec's p12_password)
  bool chains = true; // <name>.chain.pem, <name>.fullchain.pem
};

// Parses "pem,der,p12,chains" (PEM certificate, key and CRL files are always written).
[[nodiscard]] Formats parse_formats(std::string_view list);

// The manifest (version 1): every entity's files, names, serial, fingerprint, validity, key,
// defects and expected verification, plus the trust anchors.
[[nodiscard]] std::string manifest_json(const IssuedPki& pki, const Formats& formats);

// Builds the whole tree in a temporary sibling of `out` and swaps it into place: a failed run
// leaves the previous output untouched.
void write_pki(const IssuedPki& pki, const std::filesystem::path& out, const Formats& formats);

} // namespace pki
