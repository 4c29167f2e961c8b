// tlsmatrix entry point: parses the command line, runs the chosen verb, maps failures to exit codes.
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "pki/error.hpp"
#include "pki/version.hpp"

namespace {
constexpr const char* exit_code_help = R"(Exit codes:
  0   success (for `run`: every case graded as expected)
  1   `run`: at least one case did not pass
  2   usage error or invalid input (spec, scenario, option value)
  3   a file or directory could not be read or written
  4   OpenSSL refused an operation
  5   a peer program could not be run
  70  internal error (a bug: please report it)
  130 interrupted)";
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e); // prints the message and the hint to use --help
    return tlsmatrix::exit_codes::invalid_input;
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
