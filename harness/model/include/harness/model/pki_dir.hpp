// A generated PKI directory as the harness sees it: entity files looked up through manifest.json.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace harness {

class PkiDir {
public:
  // Reads DIR/manifest.json. Throws tlsmatrix::Error naming the file when it is missing or bad.
  explicit PkiDir(std::filesystem::path dir);

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  [[nodiscard]] bool has(const std::string& entity) const { return entities_.contains(entity); }
  [[nodiscard]] std::string profile(const std::string& entity) const;
  [[nodiscard]] std::filesystem::path cert(const std::string& entity) const;
  [[nodiscard]] std::filesystem::path key(const std::string& entity) const;
  [[nodiscard]] std::filesystem::path
  chain(const std::string& entity) const; // leaf + intermediates
  [[nodiscard]] std::filesystem::path p12(const std::string& entity) const;
  [[nodiscard]] std::filesystem::path crls() const { return dir_ / "crls.pem"; }
  [[nodiscard]] std::string key_type(const std::string& entity) const;
  [[nodiscard]] std::string p12_password() const { return p12_password_; }
  [[nodiscard]] std::vector<std::string> names() const;

private:
  struct Entity {
    std::string profile, key_type;
    std::string cert, key, chain, p12;
  };
  const Entity& at(const std::string& entity) const;
  std::filesystem::path dir_;
  std::map<std::string, Entity> entities_;
  std::string p12_password_;
};

} // namespace harness
