#include "cli.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string_view>
#include <system_error>

namespace barrot::cli {

namespace {

constexpr const char* k_version = "0.1.0";

std::vector<const Command*> all_commands(const Program& program) {
  std::vector<const Command*> out;
  for (const auto* list : program.commands) {
    for (const Command& c : *list) {
      out.push_back(&c);
    }
  }
  return out;
}

const Command* find_command(const Program& program, const std::string& name) {
  for (const Command* c : all_commands(program)) {
    if (name == c->name) {
      return c;
    }
  }
  return nullptr;
}

void add_global_options(cxxopts::Options& o) {
  o.add_options("Global")("d,dir",
                          "snapshots directory (env BARROT_SNAPSHOTS_DIR; default ./snapshots)",
                          cxxopts::value<std::string>(),
                          "DIR")("db",
                                 "database file (env BARROT_DB; default DIR/.barrot/barrot.db)",
                                 cxxopts::value<std::string>(),
                                 "PATH")(
      "sync",
      "normal or full: full fsyncs each commit (env BARROT_SYNC)",
      cxxopts::value<std::string>(),
      "MODE")("busy-timeout",
              "how long to wait for another process's lock before failing, in seconds (env "
              "BARROT_BUSY_TIMEOUT; default 30)",
              cxxopts::value<std::string>(),
              "SECONDS")("json", "print JSON instead of text")("h,help", "show help");
}

// Global options that take a value in the next argument.
bool takes_value(const std::string& arg) {
  return arg == "-d" || arg == "--dir" || arg == "--db" || arg == "--sync" ||
         arg == "--busy-timeout";
}

std::string top_help(const Program& program) {
  const std::string name = program.name;
  std::string s = name + ": " + program.description + "\n\nUsage: " + name +
                  " [--dir DIR] [--db PATH] [--sync normal|full] [--busy-timeout SECONDS] [--json] "
                  "COMMAND [ARGS]\n       " +
                  name +
                  " --version\n\n"
                  "Commands:\n";
  for (const Command* c : all_commands(program)) {
    std::string head = std::string(c->name) + " " + c->args;
    head.resize(std::max<std::size_t>(head.size() + 2, 34), ' '); // at least two spaces
    s += "  " + head + c->summary + "\n";
  }
  s += "\n'" + name + " COMMAND --help' shows a command's options. " + program.exit_codes;
  return s;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

Status apply_globals(const cxxopts::ParseResult& r, Context& ctx) {
  if (const char* v = env("BARROT_SNAPSHOTS_DIR")) {
    ctx.options.snapshots_dir = v;
  }
  if (const char* v = env("BARROT_DB")) {
    ctx.options.db_path = v;
  }
  std::string sync = env("BARROT_SYNC") ? env("BARROT_SYNC") : "normal";
  if (r.count("dir")) {
    ctx.options.snapshots_dir = r["dir"].as<std::string>();
  }
  if (r.count("db")) {
    ctx.options.db_path = r["db"].as<std::string>();
  }
  if (r.count("sync")) {
    sync = r["sync"].as<std::string>();
  }
  if (sync == "normal") {
    ctx.options.sync = Sync::normal;
  } else if (sync == "full") {
    ctx.options.sync = Sync::full;
  } else {
    return Status::InvalidArgument("unknown sync mode '" + sync + "' (expected normal or full)");
  }
  std::string busy = env("BARROT_BUSY_TIMEOUT") ? env("BARROT_BUSY_TIMEOUT") : "";
  std::string busy_source = "BARROT_BUSY_TIMEOUT";
  if (r.count("busy-timeout")) {
    busy = r["busy-timeout"].as<std::string>();
    busy_source = "--busy-timeout";
  }
  if (!busy.empty() || r.count("busy-timeout")) {
    // Seconds, fractions allowed, with or without an "s" ("2", "0.5", "5s").
    const std::size_t end = busy.size() - (!busy.empty() && busy.back() == 's' ? 1 : 0);
    double seconds = -1;
    auto [ptr, ec] = std::from_chars(busy.data(), busy.data() + end, seconds);
    if (end == 0 || ec != std::errc() || ptr != busy.data() + end || !(seconds >= 0) ||
        seconds > 86400) {
      return Status::InvalidArgument(busy_source +
                                     " must be a number of seconds from 0 to 86400 (2, 0.5, "
                                     "5s), not '" +
                                     busy + "'");
    }
    ctx.options.busy_timeout_ms = static_cast<int>(seconds * 1000);
  }
  if (ctx.options.snapshots_dir.empty()) {
    return Status::InvalidArgument("the snapshots directory is empty");
  }
  if (ctx.options.snapshots_dir.find('\0') != std::string::npos) {
    return Status::InvalidArgument("the snapshots directory contains a NUL byte");
  }
  ctx.json = r.count("json") > 0;
  return Status::OK();
}

int run_checked(int argc, char** argv, const Program& program, Context& ctx) {
  const std::string pname = program.name;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::size_t> cmd_index;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (takes_value(args[i])) {
      ++i;
      continue;
    }
    if (args[i] == "--version") {
      // --json anywhere before the command asks for it as JSON.
      if (std::find(args.begin(), args.end(), "--json") != args.end()) {
        *ctx.out << dump_json(Json{{"program", pname},
                                   {"version", k_version},
                                   {"schema", Store::latest_schema_version()}})
                 << "\n";
      } else {
        *ctx.out << pname << " " << k_version << " (schema " << Store::latest_schema_version()
                 << ")\n";
      }
      return k_exit_ok;
    }
    if (args[i] == "--") {
      break;
    }
    if (args[i].empty() || args[i][0] != '-') {
      cmd_index = i;
      break;
    }
  }
  if (!cmd_index) {
    bool help = false;
    for (const auto& a : args) {
      help = help || a == "-h" || a == "--help";
    }
    (help ? *ctx.out : *ctx.err) << top_help(program);
    return help ? k_exit_ok : k_exit_usage;
  }
  const std::string name = args[*cmd_index];
  const Command* cmd = find_command(program, name);
  if (cmd == nullptr) {
    *ctx.err << pname << ": error: unknown command '" << name << "' (see " << pname << " --help)\n";
    return k_exit_usage;
  }
  ctx.usage_exit = cmd->usage_exit;
  ctx.help = pname + " " + cmd->name + " --help";
  cxxopts::Options options(pname + " " + cmd->name, cmd->summary);
  options.custom_help(std::string("[OPTIONS]"));
  options.positional_help(cmd->args);
  add_global_options(options);
  if (cmd->add_options != nullptr) {
    cmd->add_options(options);
  }
  if (!cmd->positional.empty()) {
    auto adder = options.add_options("Arguments");
    std::vector<std::string> names;
    for (const std::string& p : cmd->positional) {
      if (p.front() == '*') { // a list the command declares itself
        names.push_back(p.substr(1));
        continue;
      }
      adder(p, "", cxxopts::value<std::string>());
      names.push_back(p);
    }
    options.parse_positional(names);
  }
  std::vector<std::string> rest;
  rest.push_back(pname + " " + cmd->name);
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i != *cmd_index) {
      rest.push_back(args[i]);
    }
  }
  std::vector<char*> cargv;
  for (auto& s : rest) {
    cargv.push_back(s.data());
  }
  auto result = options.parse(static_cast<int>(cargv.size()), cargv.data());
  if (result.count("help")) {
    std::vector<std::string> groups;
    for (const std::string& g : options.groups()) {
      if (g != "Arguments") { // positional: shown in the usage line
        groups.push_back(g);
      }
    }
    *ctx.out << options.help(groups);
    return k_exit_ok;
  }
  if (!result.unmatched().empty()) {
    *ctx.err << pname << ": error: unexpected argument '" << result.unmatched().front() << "' (see "
             << pname << " " << cmd->name << " --help)\n";
    return ctx.usage_exit;
  }
  Status s = apply_globals(result, ctx);
  if (!s.ok()) {
    fail(ctx, s);
    return ctx.usage_exit;
  }
  return cmd->run(ctx, result);
}

} // namespace

void done_anyway(Context& ctx, std::string what) {
  std::signal(SIGPIPE, SIG_IGN);
  ctx.done_anyway = std::move(what);
}

int fail(Context& ctx, const Status& status) {
  *ctx.err << ctx.program << ": error: " << status.message() << "\n";
  return status.IsInvalidArgument() ? k_exit_usage : k_exit_failure;
}

std::string config_file(const cxxopts::ParseResult& args) {
  if (args.count("config")) {
    return args["config"].as<std::string>();
  }
  const char* e = std::getenv("BARROT_CONFIG");
  return e != nullptr ? e : "";
}

Result<std::unique_ptr<Store>> open_store(Context& ctx, Access access) {
  Options o = ctx.options;
  o.access = access;
  return Store::Open(o);
}

namespace {

std::atomic<bool> g_stop{false};

// An output with every control character made visible: C0 controls other
// than newline, tab and a carriage return before a newline (CSV's line
// end), and DEL, as \xHH; C1 controls (U+0080 to U+009F, in UTF-8) as \u00HH. Standard error always
// (error messages quote what the user gave: a configuration key, a path, a process name), standard
// output when it is a terminal (stored values in every rendering, JSON included, where C1 controls
// are not escaped): an escape sequence must not reach the terminal (docs/security.md). Output to a
// file or a pipe is left as it is.
class VisibleControls : public std::streambuf {
public:
  explicit VisibleControls(std::streambuf* to) : m_to(to) {}
  ~VisibleControls() override { finish(); }

  // Writes what is still held back (nothing followed it) and flushes. Called
  // before the end of output is checked for errors; again harmlessly later.
  bool finish() {
    bool ok = true;
    if (m_cr) {
      m_cr = false;
      ok = put_escape("\\x", '\r');
    }
    if (m_lead) {
      m_lead = false;
      ok = m_to->sputc('\xC2') != traits_type::eof() && ok; // a lone lead byte, as it came
    }
    return m_to->pubsync() == 0 && ok;
  }

protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) {
      return traits_type::not_eof(ch);
    }
    const auto c = static_cast<unsigned char>(traits_type::to_char_type(ch));
    if (m_cr) { // after a carriage return
      m_cr = false;
      if (c == '\n') {
        return m_to->sputc('\r') == traits_type::eof() ? traits_type::eof() : m_to->sputc('\n');
      }
      if (!put_escape("\\x", '\r')) {
        return traits_type::eof();
      }
    }
    if (m_lead) { // after 0xC2
      m_lead = false;
      if (c >= 0x80 && c <= 0x9F) {
        return put_escape("\\u00", c) ? ch : traits_type::eof();
      }
      if (m_to->sputc('\xC2') == traits_type::eof()) {
        return traits_type::eof();
      }
    }
    // At most one byte is held back at a time: the one held was settled above.
    if (c == '\r') {
      m_cr = true;
      return ch;
    }
    if (c == 0xC2) {
      m_lead = true;
      return ch;
    }
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
      return put_escape("\\x", c) ? ch : traits_type::eof();
    }
    return m_to->sputc(static_cast<char>(c));
  }

  // A byte held back stays held: the next write may complete it (a flush can
  // fall between the two bytes of a C1 control, or a CSV line's \r and \n).
  int sync() override { return m_to->pubsync(); }

private:
  bool put_escape(const char* prefix, unsigned char c) {
    static constexpr char k_hex[] = "0123456789abcdef";
    const std::string text = std::string(prefix) + k_hex[c >> 4] + k_hex[c & 15];
    return m_to->sputn(text.data(), static_cast<std::streamsize>(text.size())) ==
           static_cast<std::streamsize>(text.size());
  }

  std::streambuf* m_to;
  bool m_lead = false; // a 0xC2 held back: a C1 control may follow
  bool m_cr = false;   // a carriage return held back: a newline may follow
};

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
}

// SIGXFSZ: nothing to do; the write that passed the limit fails with EFBIG.
extern "C" void on_file_size_signal(int) {}

} // namespace

std::atomic<bool>& stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  return g_stop;
}

Result<std::int64_t> parse_whole_number(std::string_view what,
                                        const std::string& text,
                                        std::int64_t lo,
                                        std::int64_t hi) {
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || text[0] == '-' || ec != std::errc() || ptr != text.data() + text.size() ||
      n < lo || n > hi) {
    const std::string range =
        hi == std::numeric_limits<std::int64_t>::max()
            ? (lo == 1 ? " greater than 0" : " of at least " + std::to_string(lo))
            : " from " + std::to_string(lo) + " to " + std::to_string(hi);
    return Status::InvalidArgument(std::string(what) + " must be a whole number" + range +
                                   ", not '" + text + "'");
  }
  return n;
}

std::string positional(const cxxopts::ParseResult& args, const std::string& name) {
  return args.count(name) ? args[name].as<std::string>() : std::string();
}

int run(int argc, char** argv, const Program& program) {
  // Under a file size limit (ulimit -f), a write past it fails with EFBIG
  // and is reported like a full disk, instead of SIGXFSZ killing the
  // process between two writes (tests/cli/file_limit.sh). Caught rather
  // than ignored, so that the programs we start (alert commands) get the
  // default back at exec; left alone when our parent ignores it already.
  struct sigaction old {};
  if (::sigaction(SIGXFSZ, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) {
    struct sigaction sa {};
    sa.sa_handler = on_file_size_signal;
    sa.sa_flags = SA_RESTART;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGXFSZ, &sa, nullptr);
  }
  Context ctx;
  ctx.program = program.name;
  ctx.out = &std::cout;
  ctx.out_is_tty = ::isatty(STDOUT_FILENO) == 1;
  std::optional<VisibleControls> visible_out; // a terminal only: a pipe gets the bytes
  std::optional<std::ostream> out;
  if (ctx.out_is_tty) {
    visible_out.emplace(std::cout.rdbuf());
    out.emplace(&*visible_out);
    ctx.out = &*out;
  }
  VisibleControls visible_err(std::cerr.rdbuf());
  std::ostream err(&visible_err);
  err.setf(std::ios::unitbuf); // as std::cerr: each message out at once
  err.tie(ctx.out);            // ... and after what was printed before it, as std::cerr
  ctx.err = &err;
  const std::string pname = program.name;
  try {
    const int code = run_checked(argc, argv, program, ctx);
    // Output cut short (a full disk, a file size limit, a closed descriptor)
    // is a failure, not a silently truncated dump with exit 0.
    if (visible_out && !visible_out->finish()) {
      ctx.out->setstate(std::ios::badbit);
    }
    ctx.out->flush();
    if (!*ctx.out) {
      *ctx.err << pname << ": error: cannot write standard output\n";
      // A command with exit codes of its own for bad input (health: the
      // monitoring plugin's 3, UNKNOWN) reports this the same way.
      if (ctx.usage_exit != k_exit_usage) {
        return ctx.usage_exit;
      }
      // Not exit 1, "nothing stored": a script that retries on it would
      // record the snapshot twice.
      if (!ctx.done_anyway.empty()) {
        *ctx.err << pname << ": " << ctx.done_anyway << "\n";
        return k_exit_mirror_behind;
      }
      return code == k_exit_ok ? k_exit_failure : code;
    }
    return code;
  } catch (const cxxopts::exceptions::exception& e) {
    // cxxopts quotes with U+2018/U+2019; every other message here with '.
    std::string what = e.what();
    for (const char* curly : {"\u2018", "\u2019"}) {
      for (auto at = what.find(curly); at != std::string::npos; at = what.find(curly)) {
        what.replace(at, std::string_view(curly).size(), "'");
      }
    }
    // "-1" read as an option: say what it is, a negative number.
    if (dynamic_cast<const cxxopts::exceptions::no_such_option*>(&e) != nullptr) {
      const std::string_view quoted = what;
      const auto open = quoted.find('\'');
      const auto close = quoted.rfind('\'');
      const std::string_view name =
          open != close ? quoted.substr(open + 1, close - open - 1) : std::string_view();
      if (!name.empty() &&
          std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        what = "-" + std::string(name) + ": a negative number where a count or an option goes";
      }
    }
    *ctx.err << pname << ": error: " << what << " (see "
             << (ctx.help.empty() ? pname + " --help" : ctx.help) << ")\n";
    return ctx.usage_exit;
  } catch (const std::exception& e) {
    *ctx.err << pname << ": error: " << e.what() << "\n";
    return k_exit_failure;
  } catch (...) {
    *ctx.err << pname << ": error: unexpected failure\n";
    return k_exit_failure;
  }
}

} // namespace barrot::cli
