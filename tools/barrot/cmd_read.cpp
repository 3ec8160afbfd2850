// Commands that read: latest, actions, all, view, summary.
#include "cli.h"

#include <charconv>
#include <iostream>
#include <limits>

namespace barrot::cli {

namespace {

Result<std::size_t> parse_count(const std::string& text) {
  BARROT_TRY_ASSIGN(const std::int64_t n,
                    parse_whole_number("N", text, 1, std::numeric_limits<std::int64_t>::max()));
  return static_cast<std::size_t>(n);
}

int print_snapshot(Context& ctx, const Snapshot& snap) {
  *ctx.out << (ctx.json ? dump_json(snap.document) + "\n" : format_snapshot(snap));
  return k_exit_ok;
}

int run_latest(Context& ctx, const cxxopts::ParseResult&) {
  return run_on_store(
      ctx,
      Access::read_only,
      [](Store& store) { return store.latest_periodic(); },
      [&](const Snapshot& snap) { return print_snapshot(ctx, snap); });
}

int run_actions(Context& ctx, const cxxopts::ParseResult& args) {
  std::size_t n = 10;
  if (args.count("n")) {
    auto parsed = parse_count(args["n"].as<std::string>());
    if (!parsed.ok()) {
      return fail(ctx, parsed.status());
    }
    n = *parsed;
  }
  return run_on_store(
      ctx,
      Access::read_only,
      [&](Store& store) { return store.latest(n, SnapshotType::action); },
      [&](const std::vector<Snapshot>& snaps) {
        if (ctx.json) {
          Json arr = Json::array();
          for (const Snapshot& s : snaps) {
            arr.push_back(s.document);
          }
          *ctx.out << dump_json(arr) << "\n";
        } else {
          for (const Snapshot& s : snaps) {
            *ctx.out << format_line(s) << "\n";
          }
        }
        return k_exit_ok;
      });
}

int run_all(Context& ctx, const cxxopts::ParseResult&) {
  auto store = open_store(ctx, Access::read_only);
  if (!store.ok()) {
    return fail(ctx, store.status());
  }
  Status s = (*store)->list([&](const SnapshotInfo& info) {
    *ctx.out << (ctx.json ? dump_json(to_json(info), -1) : format_line(info)) << "\n";
    return static_cast<bool>(*ctx.out);
  });
  return s.ok() ? k_exit_ok : fail(ctx, s);
}

int run_view(Context& ctx, const cxxopts::ParseResult& args) {
  if (!args.count("id")) {
    return fail(ctx, Status::InvalidArgument("missing snapshot ID"));
  }
  const std::string id = args["id"].as<std::string>();
  Status valid = validate_snapshot_id(id); // before anything is opened
  if (!valid.ok()) {
    return fail(ctx, valid);
  }
  return run_on_store(
      ctx,
      Access::read_only,
      [&](Store& store) { return store.get(id); },
      [&](const Snapshot& snap) { return print_snapshot(ctx, snap); });
}

int run_summary(Context& ctx, const cxxopts::ParseResult&) {
  return run_on_store(
      ctx,
      Access::read_only,
      [](Store& store) { return store.summary(); },
      [&](const Summary& sum) {
        *ctx.out << (ctx.json ? dump_json(to_json(sum)) + "\n" : format_summary(sum));
        return k_exit_ok;
      });
}

// The two snapshots `diff` compares: A and B, A and the latest periodic,
// or the latest two.
Result<Json> diff_for(Store& store, const std::string& a, const std::string& b) {
  std::vector<Snapshot> pair;
  for (const std::string& id : {a, b}) {
    if (!id.empty()) {
      BARROT_TRY_ASSIGN(Snapshot s, store.get(id));
      pair.push_back(std::move(s));
    }
  }
  if (pair.size() < 2) {
    BARROT_TRY_ASSIGN(auto newest, store.latest(2 - pair.size(), SnapshotType::periodic));
    if (newest.size() < 2 - pair.size()) {
      return Status::NotFound("diff needs two periodic snapshots; the store has " +
                              std::to_string(newest.size() + pair.size()));
    }
    for (auto it = newest.rbegin(); it != newest.rend(); ++it) {
      pair.push_back(std::move(*it));
    }
    if (pair.size() == 2 && pair[0].id == pair[1].id) {
      return Status::InvalidArgument(pair[0].id +
                                     " is the newest periodic snapshot: name another to compare "
                                     "it with");
    }
  }
  return diff_periodic(pair[0], pair[1]);
}

int run_diff(Context& ctx, const cxxopts::ParseResult& args) {
  const std::string a = positional(args, "a");
  const std::string b = positional(args, "b");
  for (const std::string& id : {a, b}) {
    Status s = id.empty() ? Status::OK() : validate_snapshot_id(id);
    if (!s.ok()) {
      return fail(ctx, s);
    }
  }
  return run_on_store(
      ctx,
      Access::read_only,
      [&](Store& store) { return diff_for(store, a, b); },
      [&](const Json& d) {
        *ctx.out << (ctx.json ? dump_json(d) + "\n" : format_diff(d));
        return k_exit_ok;
      });
}

void add_sql(cxxopts::Options& o) {
  o.add_options()(
      "o,output", "table (default), json, jsonl or csv", cxxopts::value<std::string>(), "FORMAT");
}

int run_sql(Context& ctx, const cxxopts::ParseResult& args) {
  if (!args.count("query")) {
    return fail(ctx, Status::InvalidArgument("missing the SQL QUERY"));
  }
  auto format = parse_output_format(args.count("output") ? args["output"].as<std::string>()
                                                         : (ctx.json ? "json" : "table"));
  if (!format.ok()) {
    return fail(ctx, format.status());
  }
  auto store = open_store(ctx, Access::read_only);
  if (!store.ok()) {
    return fail(ctx, store.status());
  }
  RowWriter writer(*ctx.out, *format);
  Status s = (*store)->query(
      args["query"].as<std::string>(),
      [&](const std::vector<std::string>& columns) { writer.header(columns); },
      [&](const std::vector<Json>& values) {
        writer.row(values);
        return static_cast<bool>(*ctx.out);
      });
  if (!s.ok()) {
    return fail(ctx, s);
  }
  writer.finish();
  return k_exit_ok;
}

} // namespace

const std::vector<Command>& read_commands() {
  static const std::vector<Command> k_commands = {
      {"latest", "", "show the latest periodic snapshot", {}, nullptr, run_latest},
      {"actions",
       "[N]",
       "show the N most recent actions (default 10)",
       {"n"},
       nullptr,
       run_actions},
      {"all", "", "list every snapshot, oldest first", {}, nullptr, run_all},
      {"view", "ID", "show one snapshot", {"id"}, nullptr, run_view},
      {"sql",
       "QUERY",
       "run one read-only SQL query on the store (docs/sql.md)",
       {"query"},
       add_sql,
       run_sql},
      {"diff",
       "[A] [B]",
       "what changed between two periodic snapshots (default: the last two)",
       {"a", "b"},
       nullptr,
       run_diff},
      {"summary", "", "counts by type and status, first and last times", {}, nullptr, run_summary},
  };
  return k_commands;
}

} // namespace barrot::cli
