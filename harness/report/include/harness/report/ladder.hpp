// A case's wire trace as a two-column ladder diagram for the terminal (`tlsmatrix trace`).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace harness {

// The ladder of one case of results.json (its "trace", "observation", "verdict"): a header with
// the case id and both peers, one line per trace event — client->server as "Name ----->" from the
// left, server->client as "<----- Name" from the right, the time since the connection opened on
// the left — fatal alerts marked "✗ fatal <description>", then each side's outcome and the
// verdict. A case without a trace says so instead of the arrows.
[[nodiscard]] std::string render_ladder(const nlohmann::ordered_json& case_json);

// The case of results.json `results` that `query` names: an exact id, else the only id matching
// it as a glob (* and ?), else the only id containing it. Throws tlsmatrix::Error
// (Errc::invalid_input) naming the candidates when there are none or several.
[[nodiscard]] const nlohmann::ordered_json& find_case(const nlohmann::ordered_json& results,
                                                      std::string_view query);

} // namespace harness
