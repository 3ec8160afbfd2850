// ActionTracker and TrackedAction: the C++ counterparts of the seed's
// ActionTracker and TrackedAction context manager.
//
// Thread-safety: as the Store they use (one thread at a time).
#pragma once

#include <barrot/export.h>
#include <barrot/snapshot.h>
#include <barrot/status.h>
#include <barrot/store.h>

#include <exception>
#include <string>
#include <utility>

namespace barrot {

class BARROT_EXPORT ActionTracker {
public:
  // `store` must outlive the tracker.
  explicit ActionTracker(Store& store) : m_store(store) {}

  // Records one action with the given status; returns its snapshot id.
  Result<std::string> track_action(const std::string& type,
                                   const Json& details = Json::object(),
                                   ActionStatus status = ActionStatus::executing);

  // Records the start of an action (status executing).
  Result<std::string> track_start(const std::string& type, const Json& details = Json::object());

  // Records the completion of an action (status completed).
  Result<std::string> track_complete(const std::string& type, const Json& details = Json::object());

  // Records a failure (status failed) with `error` as details["error"];
  // InvalidArgument when `details` hold an "error" already.
  Result<std::string> track_failure(const std::string& type,
                                    const std::string& error,
                                    const Json& details = Json::object());

  // Records `input` as is (for callers that set times or links themselves).
  Result<Snapshot> record(const ActionInput& input);

  // OK when every action recorded through this tracker was also written to
  // its mirror files; else the first reason one was not (a full disk, say;
  // Snapshot::mirror). Those actions are stored either way, and the next
  // read-write open or `barrot repair` completes their files. With
  // Options::background_mirror the files are written later: Store::flush()
  // reports their failures, and this stays OK.
  const Status& mirror() const { return m_mirror; }

private:
  Store& m_store;
  Status m_mirror;
};

// Records the start of an action when constructed and its end when the
// scope exits: `completed` with details.duration_seconds on a normal exit,
// `failed` with details.error when the scope exits by exception or fail() was
// called. The end snapshot links to the start one (action.start_snapshot_id)
// and carries its started_at. Use run_tracked() to record the exception's
// message; in a destructor C++ cannot see it, so the guard records
// "exited by exception". The guard sets those two keys of the end
// snapshot's details: values given for them (in `details` or by set()) are
// replaced. When the end's details are refused (set() gave a value too
// large, say), finish() returns the error and may be called again; at scope
// exit the end is recorded all the same, its details replaced by
// {"details_refused": "<why>"}. A scope guard: neither copied nor moved.
class BARROT_EXPORT TrackedAction {
public:
  TrackedAction(ActionTracker& tracker, std::string type, Json details = Json::object());
  ~TrackedAction();
  TrackedAction(const TrackedAction&) = delete;
  TrackedAction& operator=(const TrackedAction&) = delete;

  // The start snapshot's id, or the error that kept it from being recorded.
  const Result<std::string>& start() const { return m_start; }

  // Adds a key to the details of the end snapshot.
  void set(const std::string& key, Json value);

  // Marks the action failed with `error`; the end snapshot is recorded at scope exit.
  void fail(std::string error) { m_error = std::move(error); }

  // Records the end now rather than at scope exit; returns its snapshot id.
  // After an error nothing is recorded, and it may be called again.
  Result<std::string> finish();

private:
  ActionTracker& m_tracker;
  std::string m_type;
  Json m_details;
  Result<std::string> m_start;
  TimeUs m_started_at;
  std::string m_error;
  std::string m_refused; // why set() refused a value: the end is refused too
  int m_uncaught_at_start;
  bool m_finished = false;
};

// Runs `fn` inside a TrackedAction. If it throws, the failure snapshot holds
// the exception's message, and the exception is rethrown.
template <typename Fn>
decltype(auto)
run_tracked(ActionTracker& tracker, const std::string& type, const Json& details, Fn&& fn) {
  TrackedAction action(tracker, type, details);
  try {
    return std::forward<Fn>(fn)();
  } catch (const std::exception& e) {
    action.fail(e.what());
    throw;
  } catch (...) {
    action.fail("unknown exception");
    throw;
  }
}

} // namespace barrot
