// A CLI peer's definition (harness/peers/<name>.json) as the engine uses it: per role the
// program, argv templates, readiness and output patterns; the classification rules; and the
// condition language that options, prepare steps and rules share. Private to the peers module.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "harness/model/tls_config.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"

namespace harness::cli_peer {

struct Option {
  std::string when;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
};

// A command run before the role's program, e.g. to build an NSS database. argv[0] is a program
// name; `each` names a PEM-bundle placeholder ("trust", "crls"): the step then runs once per
// block of the bundle, with {each} = that block's file and {index} = its number.
struct Step {
  std::string when;
  std::string each;
  std::vector<std::string> argv;
};

struct RoleDef {
  bool present = false;
  std::string program;            // "" = the definition's program
  std::filesystem::path resolved; // absolute path, once found on PATH
  bool line_buffered = false;     // run under `stdbuf -oL`
  std::vector<Step> prepare;      // {db} = the directory they fill
  std::optional<std::regex> done; // server: the connection's outcome is known
  std::vector<std::string> argv;
  std::vector<Option> options;
  std::map<std::string, std::vector<std::string>> tls; // "1.2" -> flags
  std::string ready_stdout, ready_stderr;
  std::string port_busy;
  std::optional<std::regex> completed;
  // Server: output that proves it sent the resource (not just that a handshake finished).
  std::optional<std::regex> served;
  std::map<std::string, std::regex> handshake_done; // by TLS version ("" = any)
  bool send_request = false;
  bool keep_stdin_open = false;
  std::string keep_stdin_open_when; // a condition: keep it open only for such cases
  // Server: flags that make it serve many connections (the shared `--many` contract: lines
  // prefixed "@<client port> ", "@<client port> END" after each); empty = one per case.
  std::vector<std::string> many;
  // Server: "answers": "echo" — it sends back what it reads instead of the resource.
  bool echoes = false;
};

// Where a rule's line says which alert went by: a group holding its number or its name, or a
// fixed name (for stacks that print error names, not alerts); `level` a group holding "warning"
// or "1" (else fatal; name groups without it: fatal unless group 1 says "warning").
struct AlertSpec {
  bool sent = false;
  int number = 0, name = 0, level = 0;
  std::string literal;
};

struct Rule {
  std::regex match{};
  std::string anchor;  // a literal every matching line starts with ("" = unknown): a cheap filter
  std::string outcome; // "", "rejected", "error"
  std::string reason;
  std::string phase;
  std::string role; // "", "client", "server"
  std::string when; // a condition on the endpoint's config, as in options
  int verify_error = 0, identity = 0;
  std::vector<AlertSpec> alerts;
  // The line counts only if one of the next `confirm_within` lines matches (e.g. a logged attempt
  // to send an alert, confirmed by the record layer's "sent").
  std::optional<std::regex> confirm;
  int confirm_within = 0;
};

struct Definition {
  PeerInfo info;
  std::filesystem::path program;
  std::vector<std::string> version_argv;    // run with `program`
  std::vector<std::string> version_command; // or a whole command (argv[0] a program name)
  // Placeholder -> (harness value -> this peer's spelling); a value without an entry is an error.
  std::map<std::string, std::map<std::string, std::string>> translate;
  RoleDef server, client;
  std::vector<Rule> rules;
};

// Reads and checks a definition strictly (unknown keys, placeholders, conditions and patterns are
// errors naming the file and the JSON pointer). `{peer_programs}` in a program is `programs`.
[[nodiscard]] Definition
parse_definition(const std::filesystem::path& file,
                 const std::filesystem::path& programs = peer_programs_dir());

// A condition on the endpoint's config: a name (true when set), name=value, "!" negates,
// "," joins conditions that must all hold. Throws Error(invalid_input) for an unknown one.
[[nodiscard]] bool condition_holds(const std::string& when, const TlsConfig& c);

// The alert description with this name (wire::alert_name), or -1.
[[nodiscard]] int alert_by_name(const std::string& name);

} // namespace harness::cli_peer
