// Filling in command templates: placeholder values from the case's TlsConfig and the run's
// derived files, translated into the peer's spelling.
#include "cli_command.hpp"

#include <cstdio>
#include <optional>

#include "common/error.hpp"
#include "harness/process/process.hpp"

namespace harness::cli_peer {
namespace {

using tlsmatrix::Errc;
using tlsmatrix::Error;

std::filesystem::path stdbuf_program() {
  static const std::optional<std::filesystem::path> found = find_program("stdbuf");
  if (!found)
    throw Error(Errc::peer, "stdbuf (coreutils) is not installed");
  return *found;
}

} // namespace

std::string Vars::value(const std::string& key) const {
  if (auto it = fixed.find(key); it != fixed.end())
    return it->second;
  const TlsConfig& c = *config;
  if (key == "port")
    return std::to_string(port);
  if (key == "cert")
    return c.cert.string();
  if (key == "key")
    return c.key.string();
  if (key == "chain")
    return c.chain.string();
  if (key == "trust")
    return c.trust.string();
  if (key == "crls")
    return c.crls.string();
  if (key == "server_name")
    return c.server_name;
  if (key == "server_name_url") // the host part of a URL: an IPv6 literal in brackets
    return is_ipv6_literal(c.server_name) ? "[" + c.server_name + "]" : c.server_name;
  if (key == "cipher_list")
    return c.cipher_list;
  if (key == "ciphersuites")
    return c.ciphersuites;
  if (key == "keylog")
    return c.keylog.string();
  // Programs shipped with the peer definitions (harness/peer-programs/) are found relative to
  // them.
  if (key == "definition_dir")
    return def->info.definition.parent_path().string();
  if ((key == "cert_chain" || key == "request_file") && derived)
    return derived(key);
  throw Error(Errc::invalid_input,
              def->info.name + ": placeholder {" + key + "} has no value here");
}

std::string Vars::spelled(const std::string& key) const {
  std::string v = value(key);
  auto table = def->translate.find(key);
  if (table == def->translate.end())
    return v;
  auto it = table->second.find(v);
  if (it == table->second.end()) {
    std::string known;
    for (const auto& [from, _] : table->second)
      known += (known.empty() ? "\"" : ", \"") + from + "\"";
    throw Error(Errc::invalid_input, def->info.name + ": no translation of {" + key + "} = \"" + v +
                                         "\" in " + def->info.definition.string() + " (it has " +
                                         known + ")");
  }
  return it->second;
}

std::string Vars::expand(const std::string& tmpl) const {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] == '{') {
      const auto end = tmpl.find('}', i);
      if (end != std::string::npos) {
        out += spelled(tmpl.substr(i + 1, end - i - 1));
        i = end + 1;
        continue;
      }
    }
    out += tmpl[i++];
  }
  return out;
}

Command build_command(const RoleDef& role, const Vars& vars) {
  const TlsConfig& c = *vars.config;
  Command cmd;
  if (role.line_buffered) {
    // A server that is stopped rather than left to exit would lose what stdio still buffers.
    cmd.argv.push_back(stdbuf_program().string());
    cmd.argv.push_back("-oL");
  }
  cmd.argv.push_back(role.resolved.string());
  const std::string version(to_string(c.version));
  for (const auto& a : role.argv) {
    if (a == "{tls}") {
      auto it = role.tls.find(version);
      if (it != role.tls.end())
        for (const auto& flag : it->second)
          cmd.argv.push_back(vars.expand(flag));
      continue;
    }
    cmd.argv.push_back(vars.expand(a));
  }
  for (const auto& o : role.options) {
    if (!condition_holds(o.when, c))
      continue;
    for (const auto& a : o.argv)
      cmd.argv.push_back(vars.expand(a));
    for (const auto& [k, v] : o.env)
      cmd.env.emplace_back(k, vars.expand(v));
  }
  return cmd;
}

bool keeps_stdin_open(const RoleDef& role, const TlsConfig& c) {
  return role.keep_stdin_open ||
         (!role.keep_stdin_open_when.empty() && condition_holds(role.keep_stdin_open_when, c));
}

// A trust bundle may carry CRLs too: the runner adds them for OpenSSL-style CA files.
std::vector<std::string> pem_blocks(const std::string& text, const std::string& label) {
  std::vector<std::string> out;
  const std::string begin = "-----BEGIN " + label + "-----",
                    end_line = "-----END " + label + "-----";
  for (std::size_t at = text.find(begin); at != std::string::npos; at = text.find(begin, at + 1)) {
    const auto end = text.find(end_line, at);
    if (end == std::string::npos)
      break;
    out.push_back(text.substr(at, end + end_line.size() - at) + "\n");
  }
  return out;
}

std::string hex_digest(const std::string& text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string>{}(text));
  return buf;
}

} // namespace harness::cli_peer
