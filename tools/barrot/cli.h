// The barrot command line: argument parsing and printing over the library.
#pragma once

#include <barrot/barrot.h>

// List options are given once per value, never split on commas (a search
// word or a --where value may hold one). Every file includes cxxopts
// through this header, so all agree.
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace barrot::cli {

// Exit codes (docs/cli.md).
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failure = 1; // the operation failed, or found problems
inline constexpr int k_exit_usage = 2;   // bad command line or input; nothing written
// Recorded (or imported, restored), but not all that follows was done: a
// mirror file not written yet, or the output that reports it not printed.
inline constexpr int k_exit_mirror_behind = 3;
inline constexpr int k_exit_partial = 3; // barrot-archive run: some months moved, not all done

struct Context {
  Options options;
  bool json = false;
  const char* program = "barrot"; // names the program in messages
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool out_is_tty = false;       // standard output is a terminal: readable tables
  int usage_exit = k_exit_usage; // the running command's exit code for a bad command line
  std::string help;              // "barrot search --help": where a bad command line is pointed
  // What this command did that stays done (a snapshot recorded: "ID is
  // recorded all the same: do not record it again"): output lost after it
  // is exit 3 with this said, not exit 1, which reads "nothing done".
  std::string done_anyway;
};

// One subcommand: its options and what it does.
struct Command {
  const char* name;
  const char* args;                               // positional arguments for the usage line
  const char* summary;                            // one line for `barrot --help`
  std::vector<std::string> positional;            // "*name": a list option add_options declares
  void (*add_options)(cxxopts::Options& options); // may be null
  int (*run)(Context& ctx, const cxxopts::ParseResult& args);
  int usage_exit = k_exit_usage; // the exit code for a command line that does not parse
};

// A program: barrot or barrot-archive.
struct Program {
  const char* name;
  const char* description; // the first line of --help
  std::vector<const std::vector<Command>*> commands;
  const char* exit_codes; // the help's last lines
};

// Notes what the running command did that stays done (Context::done_anyway)
// before it prints: from here a reader gone from the pipe does not kill the
// process silently (exit 141, read as "nothing done"); the write fails and
// run() says `what` with exit 3.
void done_anyway(Context& ctx, std::string what);

// Parses argv and runs one of `program`'s subcommands. Never throws.
int run(int argc, char** argv, const Program& program);

const std::vector<Command>& write_commands();
const std::vector<Command>& read_commands();
const std::vector<Command>& maintain_commands();
const std::vector<Command>& periodic_commands();
const std::vector<Command>& search_commands();
const std::vector<Command>& monitor_commands();
const std::vector<Command>& archive_commands();

// Prints a recorded snapshot (`-q`: the id; `--json`: the document; else
// `human`); exit 3 with a warning when its mirror is incomplete.
int report(Context& ctx,
           const cxxopts::ParseResult& args,
           const Snapshot& s,
           const std::string& human);

// Prints "<program>: error: <message>" and returns the exit code for `status`.
int fail(Context& ctx, const Status& status);

// The configuration file: --config (where the command has it), else
// BARROT_CONFIG, else "" (none).
std::string config_file(const cxxopts::ParseResult& args);

// Opens the store for ctx.options (read-only when `access` says so).
Result<std::unique_ptr<Store>> open_store(Context& ctx, Access access);

// Opens the store with `access`, runs `op(Store&)` (returning a Result), and
// on success returns `print(value)`; any error is printed and becomes its
// exit code.
template <typename Op, typename Print>
int run_on_store(Context& ctx, Access access, Op&& op, Print&& print) {
  auto store = open_store(ctx, access);
  if (!store.ok()) {
    return fail(ctx, store.status());
  }
  auto result = op(**store);
  if (!result.ok()) {
    return fail(ctx, result.status());
  }
  return print(*result);
}

// Makes SIGINT and SIGTERM set the returned flag instead of killing the
// process (for commands that run until stopped: daemon, tail -f).
std::atomic<bool>& stop_on_signals();

// `text` as a whole number from `lo` to `hi` (digits only: no sign, no
// space); else InvalidArgument naming `what` ("--limit") and the text.
Result<std::int64_t> parse_whole_number(std::string_view what,
                                        const std::string& text,
                                        std::int64_t lo,
                                        std::int64_t hi);

// The positional argument `name`, or "" when absent.
std::string positional(const cxxopts::ParseResult& args, const std::string& name);

} // namespace barrot::cli
