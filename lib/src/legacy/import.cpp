// Importing a legacy snapshots directory (the Python system's output).
#include "mirror/mirror.h"
#include "store/database.h"
#include "store/render.h"
#include "store/store_impl.h"
#include "util/fs.h"

#include <barrot/store.h>

#include <SQLiteCpp/Transaction.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <unordered_set>

namespace barrot {

Status row_from_document(const Json& doc, const std::string& expect_id, PendingRow* row) {
  if (!doc.is_object()) {
    return Status::InvalidArgument("not a JSON object");
  }
  BARROT_TRY(validate_depth(doc, "the snapshot's values"));
  auto str = [&](const Json& obj, const char* key, std::string* out) -> Status {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) {
      return Status::InvalidArgument(std::string("no string \"") + key + "\"");
    }
    *out = it->get<std::string>();
    return Status::OK();
  };
  std::string id;
  std::string type;
  std::string timestamp;
  BARROT_TRY(str(doc, "snapshot_id", &id));
  BARROT_TRY(validate_snapshot_id(id));
  if (!expect_id.empty() && id != expect_id) {
    return Status::InvalidArgument("file name does not match snapshot_id " + id);
  }
  BARROT_TRY(str(doc, "snapshot_type", &type));
  if (type != "action" && type != "periodic") {
    return Status::InvalidArgument("unknown snapshot_type \"" + type + "\"");
  }
  if (id.rfind(type + "_", 0) != 0) {
    return Status::InvalidArgument("snapshot_type \"" + type + "\" does not match id " + id);
  }
  BARROT_TRY(str(doc, "timestamp", &timestamp));
  BARROT_TRY_ASSIGN(row->ts, parse_iso8601(timestamp));
  row->id = id;
  row->origin = "import";
  if (type == "action") {
    row->type = SnapshotType::action;
    auto it = doc.find("action");
    if (it == doc.end() || !it->is_object()) {
      return Status::InvalidArgument("no \"action\" object");
    }
    BARROT_TRY(str(*it, "type", &row->action_type));
    BARROT_TRY(validate_action_type(row->action_type));
    BARROT_TRY(str(*it, "status", &row->status));
    BARROT_TRY(parse_action_status(row->status).status());
    auto details = it->find("details");
    if (details == it->end()) {
      return Status::InvalidArgument("no action details");
    }
    std::string details_text;
    BARROT_TRY(validate_details(*details, &details_text).WithContext("action details"));
  } else {
    row->type = SnapshotType::periodic;
  }
  row->document = doc;
  try {
    row->compact = store::compact(doc);
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(e.what());
  }
  return Status::OK();
}

namespace {

struct Candidate {
  PendingRow row;
  std::string source;
};

bool same_json(const Json& a, const Json& b) {
  return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
}

Status import_into(Store::Impl& impl, const std::string& dir, ImportReport& report) {
  util::UniqueFd src;
  BARROT_TRY(util::open_dir(dir, &src).WithContext("import"));

  // 1. Read everything: files first, then the log (files win a conflict,
  //    being the complete per-snapshot record).
  std::map<std::string, Candidate> found; // by id
  auto offer = [&](PendingRow&& row, const std::string& source) {
    const std::string id = row.id;
    auto it = found.find(id);
    if (it == found.end()) {
      found.emplace(id, Candidate{std::move(row), source});
    } else if (!same_json(it->second.row.document, row.document)) {
      ++report.conflicts;
      report.skipped.push_back(
          {source, "differs from " + it->second.source + " for the same id; kept that one"});
    }
  };
  std::vector<std::string> names;
  BARROT_TRY(util::list_dir(src.get(), dir, &names));
  std::erase_if(names, [](const std::string& name) {
    return name.size() <= 5 || name.compare(name.size() - 5, 5, ".json") != 0 || name[0] == '.';
  });
  // latest_periodic.json last: it is a copy, and the original file should
  // win if the two disagree.
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    const bool la = a == mirror::k_latest_name;
    const bool lb = b == mirror::k_latest_name;
    return la != lb ? lb : a < b;
  });
  for (const std::string& name : names) {
    std::string text;
    Status s = util::read_file(src.get(), name, &text);
    if (!s.ok()) {
      report.skipped.push_back({name, s.message()});
      continue;
    }
    ++report.files_read;
    Json doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded()) {
      report.skipped.push_back({name, "not valid JSON (truncated or damaged)"});
      continue;
    }
    const bool latest = name == mirror::k_latest_name;
    const std::string expect = latest ? "" : name.substr(0, name.size() - 5);
    if (!latest && !validate_snapshot_id(expect).ok()) {
      report.skipped.push_back({name, "not named after a snapshot id"});
      continue;
    }
    PendingRow row;
    s = row_from_document(doc, expect, &row);
    if (!s.ok()) {
      report.skipped.push_back({name, s.message()});
      continue;
    }
    offer(std::move(row), name);
  }
  std::string log;
  Status ls = util::read_file(src.get(), mirror::k_log_name, &log);
  if (!ls.ok() && !ls.IsNotFound()) {
    report.skipped.push_back({mirror::k_log_name, ls.message()});
  }
  std::int64_t number = 0;
  for (std::size_t pos = 0; pos < log.size();) {
    std::size_t nl = log.find('\n', pos);
    const bool has_nl = nl != std::string::npos;
    std::string_view line(log.data() + pos, (has_nl ? nl : log.size()) - pos);
    pos = has_nl ? nl + 1 : log.size();
    ++number;
    const std::string source = std::string(mirror::k_log_name) + ":" + std::to_string(number);
    if (line.empty()) {
      continue;
    }
    ++report.lines_read;
    Json doc = Json::parse(line, nullptr, false);
    if (doc.is_discarded()) {
      report.skipped.push_back(
          {source, has_nl ? "not valid JSON" : "not valid JSON (the last line is cut short)"});
      continue;
    }
    PendingRow row;
    Status s = row_from_document(doc, "", &row);
    if (!s.ok()) {
      report.skipped.push_back({source, s.message()});
      continue;
    }
    offer(std::move(row), source);
  }

  // 2. Insert what is new, in time order, in one transaction.
  std::vector<PendingRow*> rows;
  for (auto& [id, c] : found) {
    rows.push_back(&c.row);
  }
  std::sort(rows.begin(), rows.end(), [](const PendingRow* a, const PendingRow* b) {
    return a->ts != b->ts ? a->ts < b->ts : a->id < b->id;
  });
  util::FileLock lock;
  BARROT_TRY(lock.lock(
      impl.mirror->lock_fd(), util::FileLock::Mode::exclusive, impl.options.busy_timeout_ms));
  std::vector<PendingRow*> added;
  BARROT_TRY(store::guarded("cannot import", [&]() -> Status {
    SQLite::Transaction txn(*impl.db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement existing(*impl.db, "SELECT document FROM snapshots WHERE snapshot_id = ?");
    SQLite::Statement& insert = *impl.insert_stmt;
    for (PendingRow* row : rows) {
      existing.reset();
      existing.bind(1, row->id);
      if (existing.executeStep()) {
        Json stored = Json::parse(existing.getColumn(0).getString(), nullptr, false);
        if (!stored.is_discarded() && same_json(stored, row->document)) {
          ++report.already_present;
        } else {
          ++report.conflicts;
          report.skipped.push_back(
              {found[row->id].source, "a different snapshot " + row->id + " is stored; kept it"});
        }
        continue;
      }
      bind_insert(insert, *row);
      insert.exec();
      row->seq = impl.db->getLastInsertRowid();
      added.push_back(row);
    }
    txn.commit();
    return Status::OK();
  }));
  report.imported = static_cast<std::int64_t>(added.size());
  if (!added.empty()) {
    // Mirror through a full repair: it writes missing files, accepts files
    // and lines that already hold the same snapshot (an import in place),
    // and appends only the lines the whole log lacks.
    RepairReport repaired;
    Status s = impl.repair_locked(&repaired);
    if (!s.ok()) {
      return s.WithContext("imported " + std::to_string(added.size()) +
                           " snapshots, but mirroring them failed (run barrot repair)");
    }
  }
  return Status::OK();
}

} // namespace

Result<ImportReport> Store::import_legacy(const std::string& dir) {
  if (m_impl->options.access != Access::read_write) {
    return Status::InvalidArgument("the store was opened read-only");
  }
  ImportReport report;
  BARROT_TRY(store::guarded("cannot import " + dir,
                            [&]() -> Status { return import_into(*m_impl, dir, report); }));
  return report;
}

} // namespace barrot
