// tlsmatrix entry point: parses the command line, runs the chosen verb, maps failures to exit
// codes.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "common/error.hpp"
#include "pki/version.hpp"

namespace {
constexpr const char* exit_code_help = R"(Exit codes:
  0   success (for `run`: every case graded as expected)
  1   `run`, `merge`: at least one case did not pass (flaky and adapter_broken included)
  2   usage error or invalid input (spec, scenario, option value; runs `merge` refuses)
  3   a file or directory could not be read or written
  4   OpenSSL refused an operation
  5   a peer program could not be run
  6   `diff`: cells changed; `run --fail-on-change`: cells changed against the baseline
  7   `run`, `pki generate`: the PKI could not be taken whole (a file differs from manifest.json,
      or another tlsmatrix held its lock too long), or a run's copy changed during the run
  70  internal error (a bug: please report it)
  130 interrupted)";

// Where on the command line a parse error happened: the deepest command named there, and the
// first word that names no command of it (CLI11 reports that as "A subcommand is required").
struct CommandPosition {
  const CLI::App* command = nullptr;
  std::string path = "tlsmatrix";
  std::string unknown_word;
  std::string unknown_option;
};

CommandPosition locate(const CLI::App& app, int argc, char** argv) {
  CommandPosition at;
  at.command = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word.front() == '-') {
      // The levels with verbs take only flags, so any word of theirs is an option or a verb.
      if (at.unknown_option.empty() && word.size() > 1 &&
          at.command->get_option_no_throw(word.substr(0, word.find('='))) == nullptr)
        at.unknown_option = word;
      continue;
    }
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : at.command->get_subcommands([](const CLI::App*) { return true; }))
      if (sub->check_name(word))
        next = sub;
    if (next == nullptr) {
      if (at.command->get_require_subcommand_min() > 0)
        at.unknown_word = word;
      break;
    }
    at.command = next;
    at.path += " " + word;
  }
  return at;
}

std::string command_names(const CLI::App& app) {
  std::string out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    out += (out.empty() ? "" : ", ") + sub->get_name();
  return out;
}

// CLI11's messages, with the tool's prefix, the command they concern and where to get help.
int usage_error(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  const auto at = locate(app, argc, argv);
  std::string message = e.what();
  if (!at.unknown_word.empty())
    message = "unknown command \"" + at.unknown_word + "\" (expected one of " +
              command_names(*at.command) + ")";
  else if (message == "A subcommand is required" && !at.unknown_option.empty())
    message = "unknown option \"" + at.unknown_option +
              "\" (and expected a command: " + command_names(*at.command) + ")";
  else if (message == "A subcommand is required")
    message = "expected a command: " + command_names(*at.command);
  std::cerr << at.path << ": error: " << message << "\nRun `" << at.path
            << " --help` for more information.\n";
  return tlsmatrix::exit_codes::invalid_input;
}
} // namespace

int main(int argc, char** argv) {
  CLI::App app{"tlsmatrix: test PKIs with deliberately broken certificates, and a TLS "
               "interoperability matrix over them.",
               "tlsmatrix"};
  app.set_version_flag("--version", std::string("tlsmatrix ") + std::string(tlsmatrix::version));
  app.footer(exit_code_help);
  app.require_subcommand(1);
  std::function<int()> run;
  cli::add_pki_commands(app, run);
  cli::add_endpoint_commands(app, run);
  cli::add_run_commands(app, run);
  cli::add_report_commands(app, run);
  cli::add_trace_commands(app, run);
  cli::add_merge_commands(app, run);
  cli::add_diff_commands(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e, argc, argv);
  }
  try {
    return run ? run() : tlsmatrix::exit_codes::ok;
  } catch (const tlsmatrix::Error& e) {
    std::cerr << "tlsmatrix: error: " << e.what() << "\n";
    return tlsmatrix::exit_code(e.code());
  } catch (const std::exception& e) {
    std::cerr << "tlsmatrix: internal error: " << e.what() << "\n";
    return tlsmatrix::exit_codes::internal;
  }
}
