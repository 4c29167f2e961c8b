// NSS key logs (SSLKEYLOGFILE, `openssl -keylogfile`): the secrets that let the decoder read a
// connection's protected records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/wire/trace.hpp"

namespace harness::wire {

// One line of an NSS key log: "<label> <client_random hex> <secret hex>".
struct KeyLogEntry {
  std::string label; // CLIENT_RANDOM, CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_TRAFFIC_SECRET_0, …
  Bytes client_random;
  Bytes secret;
};

struct KeyLog {
  std::vector<KeyLogEntry> entries;
  std::size_t ignored_lines = 0; // lines that were neither comments nor well-formed entries

  // The secret logged under `label` for `client_random` (the last one if logged twice).
  [[nodiscard]] const Bytes* find(std::string_view label, ByteView client_random) const;
};

// Parses NSS key log text (the format of SSLKEYLOGFILE and `openssl -keylogfile`). Blank and '#'
// lines are skipped; a malformed line is counted in ignored_lines, never an exception.
[[nodiscard]] KeyLog parse_key_log(std::string_view text);

} // namespace harness::wire
