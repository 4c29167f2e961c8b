// Command templates: a role's argv with its {placeholders} filled in for one case, as this peer
// spells the values (its translate table). Private to the peers module.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cli_definition.hpp"
#include "harness/model/tls_config.hpp"

namespace harness::cli_peer {

// What the placeholders of one command stand for. Files derived from the config ({cert_chain},
// {request_file}) are made on first use; {db}, {each} and {index} are set by the prepare steps.
struct Vars {
  const Definition* def = nullptr;
  const TlsConfig* config = nullptr;
  std::uint16_t port = 0;
  std::function<std::string(const std::string&)> derived; // cert_chain, request_file
  std::map<std::string, std::string> fixed;

  // The harness's value of a placeholder; Error(invalid_input) when it has none here.
  [[nodiscard]] std::string value(const std::string& key) const;
  // The value as this peer spells it (its translate table), or as the harness has it.
  [[nodiscard]] std::string spelled(const std::string& key) const;
  // The template with every {placeholder} spelled.
  [[nodiscard]] std::string expand(const std::string& tmpl) const;
};

struct Command {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
};

// The role's command for these values: argv (with {tls} and the options whose condition holds)
// and environment.
[[nodiscard]] Command build_command(const RoleDef& role, const Vars& vars);

// Whether the role's stdin stays open for this case: always, or when its condition holds.
[[nodiscard]] bool keeps_stdin_open(const RoleDef& role, const TlsConfig& c);

// The PEM blocks with this label ("CERTIFICATE", "X509 CRL") of a bundle, each with a newline.
[[nodiscard]] std::vector<std::string> pem_blocks(const std::string& text,
                                                  const std::string& label);

// A short stable digest of `text` (16 hex digits) for the names of derived files and folders.
[[nodiscard]] std::string hex_digest(const std::string& text);

} // namespace harness::cli_peer
