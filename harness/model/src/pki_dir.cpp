// A PKI directory's entities and files, from its manifest (pki::read_manifest).
#include "harness/model/pki_dir.hpp"

#include "common/error.hpp"
#include "pki/manifest.hpp"

namespace harness {

using tlsmatrix::Errc;
using tlsmatrix::Error;

PkiDir::PkiDir(std::filesystem::path dir) : dir_(std::move(dir)) {
  const pki::Manifest m = pki::read_manifest(dir_);
  p12_password_ = m.p12_password;
  for (const auto& [name, e] : m.entities)
    entities_[name] = Entity{e.profile,     e.key_type,      e.file("cert"),
                             e.file("key"), e.file("chain"), e.file("p12")};
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
