// Renders a case's trace from results.json as a two-column ladder diagram.
#include "harness/report/ladder.hpp"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/error.hpp"
#include "common/glob.hpp"

namespace harness {
namespace {

using json = nlohmann::ordered_json;
using tlsmatrix::Errc;
using tlsmatrix::Error;

constexpr std::size_t width = 60; // between the two side rails

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Columns a UTF-8 string takes (every code point one column: enough for names and "✗").
std::size_t columns(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char ch : s)
    if ((ch & 0xC0) != 0x80)
      ++n;
  return n;
}

std::string label(const json& e) {
  const std::string kind = str(e, "kind");
  std::string name = str(e, "name");
  if (name.empty())
    name = !str(e, "alert").empty() ? str(e, "alert") : str(e, "message");
  if (kind == "alert") {
    const bool fatal = name.rfind("fatal", 0) == 0 || str(e, "level") == "fatal";
    const bool has_level = name.rfind("fatal", 0) == 0 || name.rfind("warning", 0) == 0;
    return (fatal ? "✗ " : "! ") + (has_level ? name : "alert " + name);
  }
  if (kind == "encrypted")
    return name + " (encrypted)";
  if (kind == "malformed")
    return "? " + name;
  return name;
}

std::string arrow_line(const json& e) {
  const std::string dir = str(e, "direction");
  const bool to_server = dir.rfind("client", 0) == 0;
  std::string text = label(e);
  const std::size_t used = columns(text) + 2; // the name, a space and the arrowhead
  const std::string shaft(used + 4 < width ? width - used : 4, '-');
  std::string line = to_server ? " " + text + " " + shaft + ">" : "<" + shaft + " " + text + " ";
  char t[32] = "";
  auto it = e.find("time_ms");
  if (it != e.end() && it->is_number())
    std::snprintf(t, sizeof t, "%9.1f ms ", it->get<double>());
  else
    std::snprintf(t, sizeof t, "%13s", "");
  return std::string(t) + "|" + line + "|\n";
}

std::string side_line(const char* role, const json& o) {
  std::string s = std::string(role) + " (" + str(o, "peer") + "): " + str(o, "outcome");
  if (!str(o, "phase").empty())
    s += " in " + str(o, "phase");
  if (!str(o, "reason").empty())
    s += ", reason " + str(o, "reason");
  auto v = o.find("verify_error");
  if (v != o.end() && !v->is_null())
    s += ", verify error " + v->dump();
  if (auto claim = o.find("overruled"); claim != o.end() && claim->is_object())
    s += "\n    " + std::string(claim->value("conflict", false) ? "conflict" : "overruled") + ": " +
         str(*claim, "note");
  return s + "\n";
}

} // namespace

std::string render_ladder(const json& c) {
  std::string out = "case " + str(c, "id");
  if (!str(c, "title").empty())
    out += " — " + str(c, "title");
  out += "\n\n";
  std::string head = std::string(13, ' ') + "client: " + str(c, "client");
  const std::string right = "server: " + str(c, "server");
  const std::size_t total = 13 + width + 2;
  if (columns(head) + columns(right) + 1 < total)
    head += std::string(total - columns(head) - columns(right), ' ');
  else
    head += " ";
  out += head + right + "\n";
  const json empty = json::array();
  auto tr = c.find("trace");
  const json& trace = tr != c.end() && tr->is_array() ? *tr : empty;
  if (trace.empty()) {
    out += std::string(13, ' ') + "(no trace recorded";
    if (!str(c, "trace_note").empty())
      out += ": " + str(c, "trace_note");
    out += ")\n";
  }
  // A flow mismatch names the trace event where it differed ("… (trace[5])"): mark that line.
  std::size_t flow_at = std::string::npos;
  if (auto v = c.find("verdict"); v != c.end() && v->is_object()) {
    const std::string flow = str(*v, "flow");
    if (const auto at = flow.rfind("(trace[");
        flow.rfind("mismatch", 0) == 0 && at != std::string::npos)
      flow_at = std::strtoul(flow.c_str() + at + 7, nullptr, 10);
  }
  for (std::size_t i = 0; i < trace.size(); ++i)
    if (trace[i].is_object()) {
      out += arrow_line(trace[i]);
      if (i == flow_at)
        out.insert(out.size() - 1, " ≠ flow");
    }
  if (!trace.empty() && !str(c, "trace_note").empty())
    out += std::string(13, ' ') + "(" + str(c, "trace_note") + ")\n";
  out += "\n";
  auto obs = c.find("observation");
  if (obs != c.end() && obs->is_object()) {
    if (obs->contains("client"))
      out += side_line("client", (*obs)["client"]);
    if (obs->contains("server"))
      out += side_line("server", (*obs)["server"]);
  }
  if (auto r = c.find("resource"); r != c.end() && r->is_object())
    out += std::string("resource: ") +
           (r->value("delivered", false) ? "delivered" : "not delivered") + " (" +
           str(*r, "evidence") + ")\n";
  auto v = c.find("verdict");
  if (v != c.end() && v->is_object()) {
    out += "verdict: " + str(*v, "grade");
    if (!str(*v, "reason").empty())
      out += " (" + str(*v, "reason") + ")";
    if (!str(*v, "detail").empty())
      out += " — " + str(*v, "detail");
    out += "\n";
    if (!str(*v, "flow").empty())
      out += "flow: " + str(*v, "flow") + "\n";
  }
  return out;
}

const json& find_case(const json& results, std::string_view query) {
  auto it = results.find("cases");
  if (it == results.end() || !it->is_array())
    throw Error(Errc::invalid_input, "results: no \"cases\" array");
  const bool is_glob = query.find_first_of("*?") != std::string_view::npos;
  std::vector<const json*> hits;
  for (const auto& c : *it) {
    const std::string id = str(c, "id");
    if (id == query)
      return c;
    if (is_glob ? common::glob_match(query, id) : id.find(query) != std::string::npos)
      hits.push_back(&c);
  }
  if (hits.size() == 1)
    return *hits.front();
  std::string msg = "case \"" + std::string(query) + "\": ";
  if (hits.empty())
    throw Error(Errc::invalid_input, msg + "no case matches");
  msg += std::to_string(hits.size()) + " cases match:";
  for (std::size_t i = 0; i < hits.size() && i < 20; ++i)
    msg += "\n  " + str(*hits[i], "id");
  if (hits.size() > 20)
    msg += "\n  …";
  throw Error(Errc::invalid_input, msg);
}

} // namespace harness
