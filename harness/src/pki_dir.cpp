// Reads a PKI directory's manifest.json (written by `tlsmatrix pki generate`).
#include "harness/pki_dir.hpp"

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/files.hpp"

namespace harness {

using tlsmatrix::Errc;
using tlsmatrix::Error;

PkiDir::PkiDir(std::filesystem::path dir) : dir_(std::move(dir)) {
  const auto path = dir_ / "manifest.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error(Errc::invalid_input, "no PKI at " + dir_.string() + ": " + path.string() +
                                         " does not exist (run `tlsmatrix pki generate --out " +
                                         dir_.string() + "`)");
  try {
    const auto m = nlohmann::json::parse(common::read_file(path));
    if (m.at("version").get<int>() != 1)
      throw Error(Errc::invalid_input, path.string() + ": unsupported manifest version");
    p12_password_ = m.value("p12_password", "tlsmatrix");
    for (const auto& [name, e] : m.at("entities").items()) {
      const auto& f = e.at("files");
      entities_[name] =
          Entity{e.at("profile").get<std::string>(),
                 e.at("key").at("type").get<std::string>(),
                 f.at("cert").get<std::string>(),
                 f.at("key").get<std::string>(),
                 f.value("chain", std::string()),
                 f.contains("p12") && f["p12"].is_string() ? f["p12"].get<std::string>() : ""};
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::invalid_input, path.string() + ": not a tlsmatrix manifest: " + e.what());
  }
}

const PkiDir::Entity& PkiDir::at(const std::string& entity) const {
  auto it = entities_.find(entity);
  if (it == entities_.end())
    throw Error(Errc::invalid_input,
                "no entity \"" + entity + "\" in " + (dir_ / "manifest.json").string());
  return it->second;
}

std::string PkiDir::profile(const std::string& entity) const {
  return at(entity).profile;
}
std::string PkiDir::key_type(const std::string& entity) const {
  return at(entity).key_type;
}
std::filesystem::path PkiDir::cert(const std::string& entity) const {
  return dir_ / at(entity).cert;
}
std::filesystem::path PkiDir::key(const std::string& entity) const {
  return dir_ / at(entity).key;
}

std::filesystem::path PkiDir::chain(const std::string& entity) const {
  const auto& e = at(entity);
  if (e.chain.empty())
    throw Error(Errc::invalid_input,
                dir_.string() + " was generated without chain files (--formats chains)");
  return dir_ / e.chain;
}

std::filesystem::path PkiDir::p12(const std::string& entity) const {
  const auto& e = at(entity);
  if (e.p12.empty())
    throw Error(Errc::invalid_input,
                "entity \"" + entity + "\" in " + dir_.string() + " has no PKCS#12 file");
  return dir_ / e.p12;
}

std::vector<std::string> PkiDir::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : entities_)
    out.push_back(name);
  return out;
}

} // namespace harness
