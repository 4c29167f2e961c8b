// The shared default-PKI fixture and the openssl CLI wrappers of the independent-verification
// tests.
#include "pki_fixture.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <stdexcept>

#include <time.h>

#include <gtest/gtest.h>

namespace testing_support {
namespace fs = std::filesystem;
using nlohmann::json;

const json& IssuedDir::entity(const std::string& name) const {
  const auto& entities = manifest.at("entities");
  if (!entities.contains(name))
    throw std::runtime_error("manifest has no entity " + name);
  return entities.at(name);
}

fs::path IssuedDir::file(const std::string& name, const std::string& kind) const {
  const auto& files = entity(name).at("files");
  if (!files.contains(kind))
    throw std::runtime_error("manifest lists no " + kind + " of " + name);
  return dir / files.at(kind).get<std::string>();
}

std::vector<std::string> IssuedDir::entity_names() const {
  std::vector<std::string> names;
  for (const auto& [name, _] : manifest.at("entities").items())
    names.push_back(name);
  return names;
}

std::vector<std::string> IssuedDir::chain(const std::string& name) const {
  return entity(name).at("chain").get<std::vector<std::string>>();
}

std::string format_utc(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string utc_now() {
  return format_utc(std::time(nullptr));
}

std::time_t parse_utc(const std::string& text) {
  std::tm tm{};
  std::string normal = text;
  std::replace(normal.begin(), normal.end(), ' ', 'T');
  if (::strptime(normal.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr)
    throw std::runtime_error("not a UTC time: " + text);
  return ::timegm(&tm);
}

CommandResult tlsmatrix_generate(const std::vector<std::string>& args) {
  std::vector<std::string> argv{tlsmatrix_binary(), "pki", "generate", "--quiet"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {}, std::chrono::seconds(120));
}

namespace {
IssuedDir load_issued(const fs::path& dir) {
  IssuedDir d;
  d.dir = dir;
  d.manifest = json::parse(read_text(dir / "manifest.json"));
  d.now = d.manifest.at("now").get<std::string>();
  d.now_unix = parse_utc(d.now);
  d.seed = d.manifest.at("seed").is_string() ? d.manifest.at("seed").get<std::string>() : "";
  return d;
}
} // namespace

IssuedDir issue(const fs::path& out, const std::optional<json>& spec,
                const std::vector<std::string>& extra_args, const std::string& now) {
  std::vector<std::string> args{"--out", out.string(), "--now", now.empty() ? utc_now() : now};
  if (spec) {
    const auto spec_file = out.parent_path() / (out.filename().string() + ".spec.json");
    write_text(spec_file, spec->dump(2));
    args.insert(args.end(), {"--spec", spec_file.string()});
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  const auto r = tlsmatrix_generate(args);
  if (r.exit_code != 0)
    throw std::runtime_error("tlsmatrix pki generate failed (exit " + std::to_string(r.exit_code) +
                             "): " + r.err);
  return load_issued(out);
}

const IssuedDir& default_pki() {
  static const ScratchDir scratch;
  static const IssuedDir pki = [] {
    if (const char* dir = std::getenv("TLSMATRIX_TEST_DEFAULT_PKI"))
      if (fs::exists(fs::path(dir) / "manifest.json"))
        return load_issued(dir);
    return issue(scratch / "pki", std::nullopt, {"--seed", "tlsmatrix-verify-tests"});
  }();
  return pki;
}

VerifyOutcome parse_openssl_verify(int exit_code, const std::string& out, const std::string& err) {
  VerifyOutcome v;
  v.output = out + err;
  // The verify callback of the CLI prints every error it lets pass; the first one is the one a
  // verifier that stops at the first error (libssl, the manifest) reports.
  static const std::regex error_line(R"(error (\d+) at (\d+) depth lookup)");
  std::smatch m;
  if (std::regex_search(v.output, m, error_line)) {
    v.error = std::stoi(m[1]);
    v.depth = std::stoi(m[2]);
  } else if (exit_code == 0 && out.ends_with(": OK\n")) {
    v.error = 0;
    v.depth = 0;
  }
  return v;
}

VerifyOutcome openssl_verify(const fs::path& ca_file, const std::optional<fs::path>& untrusted,
                             const VerifyFlags& flags, const fs::path& cert) {
  std::vector<std::string> argv{"openssl", "verify", "-CAfile", ca_file.string()};
  if (untrusted)
    argv.insert(argv.end(), {"-untrusted", untrusted->string()});
  if (!flags.purpose.empty())
    argv.insert(argv.end(), {"-purpose", flags.purpose});
  if (flags.hostname)
    argv.insert(argv.end(), {"-verify_hostname", *flags.hostname});
  if (flags.ip)
    argv.insert(argv.end(), {"-verify_ip", *flags.ip});
  if (flags.crl_file)
    argv.insert(argv.end(), {"-crl_check", "-CRLfile", flags.crl_file->string()});
  if (flags.auth_level)
    argv.insert(argv.end(), {"-auth_level", std::to_string(*flags.auth_level)});
  if (flags.at_time)
    argv.insert(argv.end(), {"-attime", std::to_string(*flags.at_time)});
  argv.push_back(cert.string());
  const auto r = run(argv);
  auto v = parse_openssl_verify(r.exit_code, r.out, r.err);
  std::string command;
  for (const auto& a : argv)
    command += (command.empty() ? "" : " ") + a;
  v.output = "$ " + command + "\n" + v.output;
  return v;
}

std::string openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = run(argv);
  if (r.exit_code != 0) {
    std::string command;
    for (const auto& a : argv)
      command += (command.empty() ? "" : " ") + a;
    ADD_FAILURE() << command << " exited " << r.exit_code << ": " << r.err;
  }
  return r.out;
}

std::string concat_files(const std::vector<fs::path>& files) {
  std::string out;
  for (const auto& f : files)
    out += read_text(f);
  return out;
}

std::vector<std::pair<std::string, std::string>> snapshot(const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      files.emplace_back(fs::relative(e.path(), dir).string(), read_text(e.path()));
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace testing_support
