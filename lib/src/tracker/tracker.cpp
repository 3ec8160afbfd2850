#include "store/store_impl.h"

#include <barrot/tracker.h>

#include <algorithm>
#include <cmath>

namespace barrot {

Result<Snapshot> ActionTracker::record(const ActionInput& input) {
  Result<Snapshot> s = m_store.record_action(input);
  if (s.ok() && !s->mirror.ok() && m_mirror.ok()) {
    m_mirror = s->mirror;
  }
  return s;
}

Result<std::string>
ActionTracker::track_action(const std::string& type, const Json& details, ActionStatus status) {
  BARROT_TRY(validate_depth(details, "details")); // before the copy: a deep copy recurses
  ActionInput in;
  in.type = type;
  in.details = details;
  in.status = status;
  BARROT_TRY_ASSIGN(Snapshot s, record(in));
  return s.id;
}

Result<std::string> ActionTracker::track_start(const std::string& type, const Json& details) {
  return track_action(type, details, ActionStatus::executing);
}

Result<std::string> ActionTracker::track_complete(const std::string& type, const Json& details) {
  return track_action(type, details, ActionStatus::completed);
}

Result<std::string> ActionTracker::track_failure(const std::string& type,
                                                 const std::string& error,
                                                 const Json& details) {
  if (!details.is_object()) {
    return Status::InvalidArgument("details must be a JSON object");
  }
  BARROT_TRY(validate_depth(details, "details"));
  if (details.contains("error")) { // one of the two would be lost
    return Status::InvalidArgument(
        "the details hold an \"error\" already: the error argument sets it; give it once");
  }
  Json d = details;
  d["error"] = error;
  return track_action(type, d, ActionStatus::failed);
}

namespace {

Result<std::string>
start_of(ActionTracker& tracker, const std::string& type, const Json& details, TimeUs at) {
  ActionInput in;
  in.type = type;
  in.details = details;
  in.at = at;
  BARROT_TRY_ASSIGN(Snapshot s, tracker.record(in));
  return s.id;
}

} // namespace

TrackedAction::TrackedAction(ActionTracker& tracker, std::string type, Json details)
    : m_tracker(tracker), m_type(std::move(type)), m_details(std::move(details)),
      m_start(Status::IOError("not started")), m_started_at(now_us()),
      m_uncaught_at_start(std::uncaught_exceptions()) {
  // Checked before start_of() and finish() copy them: a deep copy recurses.
  if (Status deep = validate_depth(m_details, "details"); !deep.ok()) {
    m_start = deep;
    m_details = Json::object();
    return;
  }
  m_start = start_of(m_tracker, m_type, m_details, m_started_at);
}

TrackedAction::~TrackedAction() {
  if (!m_finished) {
    if (m_error.empty() && std::uncaught_exceptions() > m_uncaught_at_start) {
      m_error = "exited by exception";
    }
    auto end = finish(); // a destructor cannot report: the end is recorded all the same
    if (!end.ok() && end.status().IsInvalidArgument()) {
      // The details set() gave were refused (too large, invalid UTF-8):
      // the end is recorded without them, saying so, rather than leaving
      // the start `executing` for ever.
      m_details = Json{{"details_refused", end.status().message()}};
      m_refused.clear();
      (void)finish();
    }
  }
}

void TrackedAction::set(const std::string& key, Json value) {
  if (m_details.is_object()) { // otherwise the start was refused already
    // Never kept: finish() would copy it, and a deep copy recurses.
    if (Status deep = validate_depth(value, ("details." + key).c_str(), 1); !deep.ok()) {
      m_refused = deep.message();
      return;
    }
    m_details[key] = std::move(value);
  }
}

Result<std::string> TrackedAction::finish() {
  if (m_finished) {
    return Status::InvalidArgument("the action was already finished");
  }
  if (!m_refused.empty()) {
    return Status::InvalidArgument(m_refused);
  }
  ActionInput in;
  in.type = m_type;
  in.details = m_details.is_object() ? m_details : Json::object();
  const TimeUs end = std::max(now_us(), m_started_at); // the clock may step back
  in.at = end;
  in.started_at = m_started_at;
  // Microsecond precision, as the timestamps.
  in.details["duration_seconds"] = std::round(static_cast<double>(end - m_started_at)) / 1e6;
  if (m_start.ok()) {
    in.start_snapshot_id = m_start.value();
  }
  if (m_error.empty()) {
    in.status = ActionStatus::completed;
  } else {
    in.status = ActionStatus::failed;
    in.details["error"] = m_error;
  }
  BARROT_TRY_ASSIGN(Snapshot s, m_tracker.record(in));
  m_finished = true; // only once recorded: a refused end may be tried again
  return s.id;
}

} // namespace barrot
