// `barrot search` and `barrot tail`: filters over the indexed store.
#include "cli.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <climits>
#include <iostream>
#include <limits>
#include <thread>
#include <unordered_set>

namespace barrot::cli {

namespace {

void add_filters(cxxopts::Options& o) {
  o.add_options("Filters")("type", "action or periodic", cxxopts::value<std::string>(), "T")(
      "action",
      "action type, exact or a glob such as 'deploy*'",
      cxxopts::value<std::string>(),
      "TYPE")("status", "executing, completed or failed", cxxopts::value<std::string>(), "S")(
      "since",
      "from this time: ISO 8601, YYYY-MM-DD, 2h, 7d, today, yesterday",
      cxxopts::value<std::string>(),
      "TIME")("until", "before this time (same forms)", cxxopts::value<std::string>(), "TIME")(
      "w,where",
      "a condition on a details field: KEY, KEY=V, KEY!=V, KEY>V, KEY>=V, KEY<V, "
      "KEY<=V; nested keys joined by dots (repeatable)",
      cxxopts::value<std::vector<std::string>>(),
      "COND")("o,output",
              "table (default), json, jsonl (the action_log.jsonl line form), csv or ids",
              cxxopts::value<std::string>(),
              "FORMAT")("words", "", cxxopts::value<std::vector<std::string>>());
}

void add_search(cxxopts::Options& o) {
  add_filters(o);
  o.add_options("Search")("limit",
                          "at most N results (default 100)",
                          cxxopts::value<std::string>(),
                          "N")("reverse", "oldest first")("count", "print only how many match")(
      "after",
      "continue after this snapshot id (the last of the previous page)",
      cxxopts::value<std::string>(),
      "ID")("archives", "also search the archived months the time range overlaps")(
      "archive-dir",
      "where the archives are, when moved from where barrot-archive wrote them "
      "(default BARROT_CONFIG's archive.dir, else DIR/archive)",
      cxxopts::value<std::string>(),
      "PATH");
}

void add_tail(cxxopts::Options& o) {
  add_filters(o);
  o.add_options("Tail")("n,lines",
                        "the newest N matching snapshots first (default 10)",
                        cxxopts::value<std::string>(),
                        "N")(
      "f,follow",
      "then print new matching snapshots as they are written, until interrupted; with --until, "
      "until that time is past (by the busy timeout); exit 1 if the database is removed, "
      "replaced or restored meanwhile");
}

// One matching snapshot at a time, in the chosen output format. "table" is
// one line per snapshot; on a terminal (`aligned`), a table with a header,
// its columns sized to the rows (held until finish()).
class Printer {
public:
  Printer(std::ostream& out, std::string format, bool aligned)
      : m_out(out), m_format(std::move(format)),
        m_rows(out, m_format == "csv" ? OutputFormat::csv : OutputFormat::table),
        m_aligned(aligned && m_format == "table") {
    if (m_format == "csv") {
      m_rows.header(
          {"snapshot_id", "timestamp", "snapshot_type", "action_type", "status", "details"});
    } else if (m_aligned) {
      m_rows.header({"", "time", "snapshot", "action", "status", "details"});
    } else if (m_format == "json") {
      m_out << "[";
    }
  }

  bool print(const SnapshotRow& row) {
    const bool action = row.type == SnapshotType::action;
    if (m_aligned) {
      m_rows.row({std::string(status_mark(action ? row.status : "")),
                  format_iso8601(row.timestamp),
                  std::string(row.id),
                  std::string(row.action_type),
                  std::string(row.status),
                  short_details(row.details)});
    } else if (m_format == "table") {
      SnapshotInfo info;
      info.id = std::string(row.id);
      info.type = row.type;
      info.timestamp = row.timestamp;
      info.action_type = std::string(row.action_type);
      info.status = std::string(row.status);
      m_out << format_line(info);
      if (!row.details.empty() && row.details != "{}") {
        m_out << "  " << row.details; // whole: a pipe (grep) must see all of it
      }
      m_out << "\n";
    } else if (m_format == "ids") {
      m_out << row.id << "\n";
    } else if (m_format == "jsonl") {
      m_out << row.document << "\n";
    } else if (m_format == "json") {
      m_out << (m_first ? "\n  " : ",\n  ") << row.document;
    } else {
      m_rows.row({std::string(row.id),
                  format_iso8601(row.timestamp),
                  std::string(to_string(row.type)),
                  action ? Json(row.action_type) : Json(),
                  action ? Json(row.status) : Json(),
                  action ? Json(row.details) : Json()});
    }
    m_first = false;
    ++m_count;
    m_last_id = row.id;
    return static_cast<bool>(m_out);
  }

  // For snapshots read whole (tail -f, archives).
  bool print(const Snapshot& snap) {
    SnapshotRow row;
    row.id = snap.id;
    row.type = snap.type;
    row.timestamp = snap.timestamp;
    const std::string document = dump_json(snap.document, -1);
    row.document = document;
    std::string action_type, status, details;
    auto action = snap.document.find("action");
    if (action != snap.document.end() && action->is_object()) {
      action_type = action->value("type", "");
      status = action->value("status", "");
      auto d = action->find("details");
      details = d == action->end() ? "" : dump_json(*d, -1);
    }
    row.action_type = action_type;
    row.status = status;
    row.details = details;
    return print(row);
  }

  void finish() {
    if (m_format == "json") {
      m_out << (m_first ? "]\n" : "\n]\n");
    } else if (m_aligned) {
      m_rows.finish();
    }
    m_out.flush();
  }

  std::size_t count() const { return m_count; }
  const std::string& last_id() const { return m_last_id; }

private:
  static std::string short_details(std::string_view details) {
    constexpr std::size_t k_max = 80;
    if (details.size() <= k_max) {
      return std::string(details);
    }
    std::size_t cut = k_max;
    while (cut > 0 && (static_cast<unsigned char>(details[cut]) & 0xC0) == 0x80) {
      --cut; // not inside a UTF-8 sequence
    }
    return std::string(details.substr(0, cut)) + "…";
  }

  std::ostream& m_out;
  std::string m_format;
  RowWriter m_rows;
  bool m_aligned;
  bool m_first = true;
  std::size_t m_count = 0;
  std::string m_last_id;
};

// The -o format, or an error naming it.
Status output_format(Context& ctx, const cxxopts::ParseResult& args, std::string* format) {
  *format = args.count("output") ? args["output"].as<std::string>() : (ctx.json ? "json" : "table");
  if (*format != "table" && *format != "json" && *format != "jsonl" && *format != "csv" &&
      *format != "ids") {
    return Status::InvalidArgument("unknown output format '" + *format +
                                   "' (expected table, json, jsonl, csv or ids)");
  }
  return Status::OK();
}

Status build_filter(const cxxopts::ParseResult& args, SearchFilter* f) {
  if (args.count("type")) {
    const std::string t = args["type"].as<std::string>();
    if (t != "action" && t != "periodic") {
      return Status::InvalidArgument("unknown type '" + t + "' (expected action or periodic)");
    }
    f->type = t == "action" ? SnapshotType::action : SnapshotType::periodic;
  }
  if (args.count("action")) {
    f->action_type = args["action"].as<std::string>();
    BARROT_TRY(validate_action_type(f->action_type).WithContext("--action"));
  }
  if (args.count("status")) {
    BARROT_TRY_ASSIGN(f->status, parse_action_status(args["status"].as<std::string>()));
  }
  const TimeUs now = now_us();
  if (args.count("since")) {
    BARROT_TRY_ASSIGN(f->since, parse_time_spec(args["since"].as<std::string>(), now));
  }
  if (args.count("until")) {
    BARROT_TRY_ASSIGN(f->until, parse_time_spec(args["until"].as<std::string>(), now));
  }
  if (f->since && f->until && *f->since > *f->until) { // "--since 1d --until 2d": swapped
    return Status::InvalidArgument("--since (" + format_iso8601(*f->since) +
                                   ") is after --until (" + format_iso8601(*f->until) +
                                   "): no time is in between");
  }
  if (args.count("limit")) {
    BARROT_TRY_ASSIGN(const std::int64_t n,
                      parse_whole_number("--limit",
                                         args["limit"].as<std::string>(),
                                         1,
                                         std::numeric_limits<std::int64_t>::max()));
    f->limit = static_cast<std::size_t>(n);
  }
  if (args.count("where")) {
    for (const std::string& text : args["where"].as<std::vector<std::string>>()) {
      BARROT_TRY_ASSIGN(DetailCondition c, parse_detail_condition(text));
      f->where.push_back(std::move(c));
    }
  }
  f->oldest_first = args.count("reverse") > 0;
  if (args.count("after")) {
    f->after_id = args["after"].as<std::string>();
    BARROT_TRY(validate_snapshot_id(f->after_id).WithContext("--after"));
  }
  if (args.count("words")) {
    f->words = args["words"].as<std::vector<std::string>>();
    // `--since 2h ago` unquoted: "ago" would become a search word, and the
    // search would quietly find only snapshots that hold it. Only the word
    // right after a time ago is taken for that (arguments come in order).
    const auto& in_order = args.arguments();
    for (std::size_t i = 0; i + 1 < in_order.size(); ++i) {
      const std::string& flag = in_order[i].key();
      const std::string& spec = in_order[i].value();
      if ((flag == "since" || flag == "until") && in_order[i + 1].key() == "words" &&
          in_order[i + 1].value() == "ago" && !spec.empty() &&
          std::isdigit(static_cast<unsigned char>(spec[0])) &&
          spec.find_first_of("-:T ") == std::string::npos) {
        return Status::InvalidArgument("'ago' would be a search word here: write --" + flag +
                                       " \"" + spec + " ago\" (quoted) or --" + flag + " " + spec);
      }
    }
  }
  return Status::OK();
}

std::string month_list(const std::vector<std::string>& months) {
  std::string list;
  for (const std::string& m : months) {
    list += (list.empty() ? "" : ", ") + m;
  }
  return list;
}

int run_search(Context& ctx, const cxxopts::ParseResult& args) {
  SearchFilter filter;
  Status s = build_filter(args, &filter);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  std::string format;
  s = output_format(ctx, args, &format);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  if (args.count("archive-dir") && !args.count("archives")) {
    return fail(ctx, Status::InvalidArgument("--archive-dir goes with --archives"));
  }
  auto store = open_store(ctx, Access::read_only);
  if (!store.ok()) {
    return fail(ctx, store.status());
  }
  // Archived months the search reaches into: searched with --archives,
  // else named, so that an empty answer is not mistaken for "never happened".
  const bool with_archives = args.count("archives") > 0;
  auto months = Archiver::archived_months(
      **store, filter.since.value_or(INT64_MIN), filter.until.value_or(INT64_MAX));
  if (!months.ok()) {
    return fail(ctx, months.status());
  }
  std::unique_ptr<Archiver> archiver;
  if (with_archives && !months->empty()) {
    ArchiveOptions archive;
    // As barrot-archive: the configuration's archive.dir, then the flag.
    if (const std::string file = config_file(args); !file.empty()) {
      if (Status c = load_archive_config(file, &archive); !c.ok()) {
        return fail(ctx, c);
      }
    }
    if (args.count("archive-dir")) {
      archive.archive_dir = args["archive-dir"].as<std::string>();
      if (archive.archive_dir.empty()) {
        return fail(ctx, Status::InvalidArgument("--archive-dir is empty"));
      }
    }
    auto a = Archiver::Open(**store, archive);
    if (!a.ok()) {
      return fail(ctx, a.status());
    }
    archiver = std::move(*a);
  } else if (!months->empty()) {
    *ctx.err << "barrot: note: the search covers archived months (" << month_list(*months)
             << "); add --archives to search them too\n";
  }
  if (args.count("count")) {
    auto n = archiver ? archiver->count_with_store(filter) : (*store)->count(filter);
    if (!n.ok()) {
      return fail(ctx, n.status());
    }
    *ctx.out << *n << "\n";
    return k_exit_ok;
  }
  Printer printer(*ctx.out, format, ctx.out_is_tty);
  // One row past the limit, not printed: whether there is a next page.
  const std::size_t limit = filter.limit;
  if (limit < SIZE_MAX) {
    filter.limit = limit + 1;
  }
  bool more = false;
  auto take = [&](const auto& row) {
    if (printer.count() == limit) {
      more = true;
      return false;
    }
    return printer.print(row);
  };
  if (!archiver) {
    s = (*store)->search_rows(filter, [&](const SnapshotRow& row) { return take(row); });
  } else {
    s = archiver->search_with_store(filter, [&](const Snapshot& snap) { return take(snap); });
  }
  printer.finish();
  if (s.ok() && ctx.out_is_tty && format == "table" && more) {
    *ctx.err << "(the limit; for more: --after " << printer.last_id() << ")\n";
  }
  return s.ok() ? k_exit_ok : fail(ctx, s);
}

int run_tail(Context& ctx, const cxxopts::ParseResult& args) {
  SearchFilter filter;
  Status s = build_filter(args, &filter);
  std::string format;
  if (s.ok()) {
    s = output_format(ctx, args, &format);
  }
  const bool follow = args.count("follow") > 0;
  if (s.ok() && follow && format == "json") {
    s = Status::InvalidArgument("tail -f prints one snapshot at a time: use -o jsonl, not json");
  }
  filter.limit = 10;
  if (s.ok() && args.count("lines")) {
    auto n = parse_whole_number(
        "--lines", args["lines"].as<std::string>(), 0, std::numeric_limits<std::int64_t>::max());
    if (n.ok()) {
      filter.limit = static_cast<std::size_t>(*n);
    } else {
      s = n.status();
    }
  }
  if (!s.ok()) {
    return fail(ctx, s);
  }
  auto store = open_store(ctx, Access::read_only);
  if (!store.ok()) {
    return fail(ctx, store.status());
  }
  // The newest N, printed oldest first; then, with -f, whatever is inserted
  // after them (one inserted while the first N were read is printed once).
  auto seq = (*store)->newest_seq();
  if (!seq.ok()) {
    return fail(ctx, seq.status());
  }
  std::int64_t last = *seq;
  // The store's newest snapshot at the last look, whatever the filter: a
  // restore in place puts another one (or none) at its counter.
  std::int64_t watch_seq = 0;
  std::string watch_id;
  auto watch = [&](std::int64_t newest) -> Status {
    watch_seq = newest;
    BARROT_TRY_ASSIGN(watch_id, (*store)->id_at_seq(newest));
    return Status::OK();
  };
  if (follow) {
    s = watch(last); // the newest counter, read above
    if (!s.ok()) {
      return fail(ctx, s);
    }
  }
  std::vector<Snapshot> newest;
  if (filter.limit > 0) {
    s = (*store)->search(filter, [&](const Snapshot& snap) {
      newest.push_back(snap);
      return true;
    });
    if (!s.ok()) {
      return fail(ctx, s);
    }
  }
  if (newest.size() < filter.limit) {
    // Fewer than asked for: the rest may be in archived months, which tail
    // does not read. Said, so that it is not taken for "never happened".
    auto months = Archiver::archived_months(
        **store, filter.since.value_or(INT64_MIN), filter.until.value_or(INT64_MAX));
    if (!months.ok()) {
      return fail(ctx, months.status());
    }
    if (!months->empty()) {
      *ctx.err << "barrot: note: archived months (" << month_list(*months)
               << ") are not read by tail; barrot search --archives searches them\n";
    }
  }
  Printer printer(*ctx.out, format, /*aligned=*/false); // -f prints as they come
  std::unordered_set<std::string> shown;
  for (auto it = newest.rbegin(); it != newest.rend(); ++it) {
    printer.print(*it);
    shown.insert(it->id);
  }
  printer.finish();
  if (!follow) {
    return k_exit_ok;
  }
  const std::atomic<bool>& stop = stop_on_signals();
  for (bool first = true; !stop.load() && *ctx.out; first = false) {
    // Read before the poll, so what is committed until then is printed
    // below. A writer stamps its snapshot before it waits for the store's
    // lock and then SQLite's, each for up to the busy timeout, so one stamped
    // before --until may commit up to twice that later.
    const bool past_until =
        filter.until && now_us() > *filter.until + 2 * TimeUs{ctx.options.busy_timeout_ms} * 1000;
    if (past_until && first) {
      *ctx.err << "barrot: note: --until is past: nothing more can match, so -f stops here\n";
    }
    s = (*store)->search_inserted_after(filter, &last, [&](const Snapshot& snap) {
      return shown.erase(snap.id) > 0 || printer.print(snap);
    });
    if (!s.ok()) {
      return fail(ctx, s);
    }
    printer.finish();
    shown.clear(); // only the first round can meet what was printed above
    if (past_until) {
      break; // nothing committed from now on is stamped before --until
    }
    auto moved = (*store)->moved();
    if (!moved.ok()) {
      return fail(ctx, moved.status());
    }
    if (*moved) {
      return fail(ctx,
                  Status::NotFound("the database " + (*store)->db_path() +
                                   " was removed or replaced; stopped following (run tail -f "
                                   "again to follow the new one)"));
    }
    // Restored in place (sqlite3 .restore): the same file, an older content,
    // whose next snapshots reuse counters already passed. The snapshot last
    // seen newest is no longer at its counter.
    if (watch_seq > 0) {
      auto id_now = (*store)->id_at_seq(watch_seq);
      if (!id_now.ok()) {
        return fail(ctx, id_now.status());
      }
      if (*id_now != watch_id) {
        return fail(ctx,
                    Status::NotFound("the database " + (*store)->db_path() +
                                     " was restored to an older state; stopped following (run "
                                     "tail -f again)"));
      }
    }
    auto newest_now = (*store)->newest_seq();
    s = newest_now.ok() ? watch(*newest_now) : newest_now.status();
    if (!s.ok()) {
      return fail(ctx, s);
    }
    for (int i = 0; i < 20 && !stop.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return k_exit_ok;
}

} // namespace

const std::vector<Command>& search_commands() {
  static const std::vector<Command> k_commands = {
      {"search",
       "[WORD...]",
       "find snapshots by type, action, status, time and words",
       {"*words"},
       add_search,
       run_search},
      {"tail",
       "[WORD...] [-n N] [-f]",
       "the newest matching snapshots, oldest first; -f: then follow new ones",
       {"*words"},
       add_tail,
       run_tail},
  };
  return k_commands;
}

} // namespace barrot::cli
