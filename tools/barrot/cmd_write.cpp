// Commands that record actions: action, track, start, complete, fail.
#include "cli.h"

#include <algorithm>
#include <cmath>
#include <iostream>

namespace barrot::cli {

namespace {

void add_status(cxxopts::Options& o) {
  o.add_options()("status", "executing, completed or failed", cxxopts::value<std::string>(), "S")(
      "q,quiet", "print only the snapshot id");
}

void add_link(cxxopts::Options& o) {
  o.add_options()("start",
                  "id of the snapshot that recorded the start: links to it, takes its "
                  "started_at and adds duration_seconds",
                  cxxopts::value<std::string>(),
                  "ID")("q,quiet", "print only the snapshot id");
}

void add_quiet(cxxopts::Options& o) {
  o.add_options()("q,quiet", "print only the snapshot id");
}

} // namespace

// Reports the recorded snapshot; exit 3 when its mirror is behind.
int report(Context& ctx,
           const cxxopts::ParseResult& args,
           const Snapshot& s,
           const std::string& human) {
  done_anyway(ctx, s.id + " is recorded all the same: do not record it again");
  if (args.count("quiet")) {
    *ctx.out << s.id << "\n";
  } else if (ctx.json) {
    *ctx.out << dump_json(s.document) << "\n";
  } else {
    *ctx.out << human << "\n";
  }
  if (!s.mirror.ok()) {
    *ctx.err << "barrot: warning: " << s.id << " is recorded, but its mirror is incomplete ("
             << s.mirror.message() << "); 'barrot repair' completes it\n";
    return k_exit_mirror_behind;
  }
  return k_exit_ok;
}

namespace {

// Builds the input common to the action commands from TYPE and DETAILS.
Status action_input(const cxxopts::ParseResult& args, ActionStatus status, ActionInput* in) {
  in->type = positional(args, "type");
  if (!args.count("type")) {
    return Status::InvalidArgument("missing action TYPE");
  }
  BARROT_TRY(validate_action_type(in->type));
  if (args.count("details")) {
    BARROT_TRY_ASSIGN(in->details, parse_details_json(args["details"].as<std::string>()));
  }
  in->status = status;
  if (args.count("status")) {
    BARROT_TRY_ASSIGN(in->status, parse_action_status(args["status"].as<std::string>()));
  }
  return Status::OK();
}

// Applies --start ID: the link, the start time and the duration.
Status apply_start(Store& store, const cxxopts::ParseResult& args, ActionInput* in) {
  if (!args.count("start")) {
    return Status::OK();
  }
  const std::string id = args["start"].as<std::string>();
  auto start = store.get(id);
  if (!start.ok()) {
    return start.status().IsNotFound()
               ? Status::InvalidArgument("--start: no snapshot " + id + " in this store")
               : start.status();
  }
  if (start->type != SnapshotType::action) {
    return Status::InvalidArgument("--start: " + id + " is not an action snapshot");
  }
  // An end pairs with a start of its own type that has not ended yet: else
  // the durations and start/end pairs the views report would be wrong.
  const Json& action = start->document["action"];
  if (action.value("status", "") != "executing") {
    return Status::InvalidArgument("--start: " + id + " is not the start of an action (it is " +
                                   action.value("status", "?") + ")");
  }
  if (action.value("type", "") != in->type) {
    BARROT_TRY(validate_action_type(in->type)); // before it is shown
    return Status::InvalidArgument("--start: " + id + " started a '" + action.value("type", "") +
                                   "' action, not '" + in->type + "'");
  }
  std::string ended_by;
  // `id` is a validated snapshot id: letters, digits and underscores only.
  BARROT_TRY(store.query(
      "SELECT snapshot_id FROM actions WHERE start_snapshot_id = '" + id + "' LIMIT 1",
      [](const std::vector<std::string>&) {},
      [&](const std::vector<Json>& row) {
        ended_by = row.empty() || !row[0].is_string() ? "?" : row[0].get<std::string>();
        return false;
      }));
  if (!ended_by.empty()) {
    return Status::InvalidArgument("--start: " + id + " already ended (" + ended_by + ")");
  }
  // Not before its start, should the clock have stepped back since.
  const TimeUs now = std::max(now_us(), start->timestamp);
  in->at = now;
  in->started_at = start->timestamp;
  in->start_snapshot_id = id;
  if (!in->details.contains("duration_seconds")) {
    in->details["duration_seconds"] = std::round(static_cast<double>(now - start->timestamp)) / 1e6;
  }
  return Status::OK();
}

int record(Context& ctx,
           const cxxopts::ParseResult& args,
           ActionStatus status,
           bool tracker_wording) {
  ActionInput in;
  Status s = action_input(args, status, &in);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  if (status == ActionStatus::failed && !args.count("status")) {
    if (in.details.contains("error")) { // one of the two would be lost
      return fail(ctx,
                  Status::InvalidArgument("the details hold an \"error\" already: ERROR sets it; "
                                          "give the error once"));
    }
    in.details["error"] = positional(args, "error");
  }
  if (args.count("start")) { // checked before the store is opened (and created)
    s = validate_snapshot_id(args["start"].as<std::string>()).WithContext("--start");
    if (!s.ok()) {
      return fail(ctx, s);
    }
    // A start can only be in a store that exists: none here is bad input,
    // and no store is created for it.
    auto existing = open_store(ctx, Access::read_only);
    if (!existing.ok()) {
      const Status& e = existing.status();
      return fail(ctx,
                  e.IsNotFound() ? Status::InvalidArgument("--start: " + e.message())
                                 : e.WithContext("--start"));
    }
  }
  auto store = open_store(ctx, Access::read_write);
  if (!store.ok()) {
    return fail(ctx, store.status());
  }
  s = apply_start(**store, args, &in);
  if (!s.ok()) {
    return fail(ctx, s);
  }
  auto snap = (*store)->record_action(in);
  if (!snap.ok()) {
    return fail(ctx, snap.status());
  }
  std::string human =
      tracker_wording ? "Tracked action " + in.type + ": " + snap->id
                      : "Generated action snapshot: " + snap->id + "\n" + dump_json(snap->document);
  return report(ctx, args, *snap, human);
}

int run_action(Context& ctx, const cxxopts::ParseResult& a) {
  return record(ctx, a, ActionStatus::executing, false);
}
int run_track(Context& ctx, const cxxopts::ParseResult& a) {
  return record(ctx, a, ActionStatus::executing, true);
}
int run_start(Context& ctx, const cxxopts::ParseResult& a) {
  return record(ctx, a, ActionStatus::executing, true);
}
int run_complete(Context& ctx, const cxxopts::ParseResult& a) {
  return record(ctx, a, ActionStatus::completed, true);
}
int run_fail(Context& ctx, const cxxopts::ParseResult& a) {
  if (!a.count("error")) {
    return fail(ctx, Status::InvalidArgument("missing ERROR message"));
  }
  return record(ctx, a, ActionStatus::failed, true);
}

} // namespace

const std::vector<Command>& write_commands() {
  static const std::vector<Command> k_commands = {
      {"action",
       "TYPE [DETAILS_JSON]",
       "record an action snapshot (default status executing)",
       {"type", "details"},
       add_status,
       run_action},
      {"track",
       "TYPE [DETAILS_JSON]",
       "record an action (the tracker's wording)",
       {"type", "details"},
       add_status,
       run_track},
      {"start",
       "TYPE [DETAILS_JSON]",
       "record the start of an action (executing)",
       {"type", "details"},
       add_quiet,
       run_start},
      {"complete",
       "TYPE [DETAILS_JSON]",
       "record the completion of an action",
       {"type", "details"},
       add_link,
       run_complete},
      {"fail",
       "TYPE ERROR [DETAILS_JSON]",
       "record the failure of an action",
       {"type", "error", "details"},
       add_link,
       run_fail},
  };
  return k_commands;
}

} // namespace barrot::cli
