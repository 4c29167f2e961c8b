// SHA-256 of data, and the content fingerprint of a set of files (what `sha256sum` can check).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace pki {

// Lower-case hex, as sha256sum prints it.
[[nodiscard]] std::string sha256_hex(std::string_view data);

// The content fingerprint of a set of files given as name -> sha256_hex of the content: SHA-256
// of their sha256sum listing ("<hex>  <name>\n" each) in bytewise order of names, i.e. what
// `ls | LC_ALL=C sort | xargs sha256sum | sha256sum` prints in a directory holding just them.
[[nodiscard]] std::string content_fingerprint(const std::map<std::string, std::string>& sha256_of);

} // namespace pki
