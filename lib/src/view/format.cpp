#include "store/chain.h"
#include "util/fs.h"
#include "util/json_parse.h"
#include "util/utf8.h"
#include "view/records.h"

#include <barrot/view.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

namespace barrot {

namespace {

// Details longer than this are cut in one-line views (the full text is in `view`).
constexpr std::size_t k_line_details_chars = 120;

std::string opt_time(const std::optional<TimeUs>& t) {
  return t ? format_iso8601(*t) : "-";
}

Json opt_time_json(const std::optional<TimeUs>& t) {
  return t ? Json(format_iso8601(*t)) : Json(nullptr);
}

std::string cut(std::string s, std::size_t n) {
  if (s.size() <= n) {
    return s;
  }
  s.resize(n);
  // Do not leave half a UTF-8 sequence.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) {
    s.pop_back();
  }
  if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) {
    s.pop_back();
  }
  return s + "...";
}

// Display width in code points (close enough for aligning columns).
std::size_t width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0) != 0x80;
  }
  return n;
}

std::string str_at(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

std::string_view status_mark(std::string_view status) {
  if (status == "completed") {
    return "✓";
  }
  if (status == "failed") {
    return "✗";
  }
  if (status == "executing") {
    return "…";
  }
  return "◆";
}

std::string format_line(const SnapshotInfo& info) {
  std::string out;
  out += status_mark(info.status);
  out += ' ';
  out += format_iso8601(info.timestamp);
  out += "  ";
  out += info.id;
  if (info.type == SnapshotType::action) {
    out += "  " + info.action_type + "  " + info.status;
  }
  return out;
}

std::string format_line(const Snapshot& s) {
  SnapshotInfo info;
  info.id = s.id;
  info.type = s.type;
  info.timestamp = s.timestamp;
  std::string details;
  if (s.type == SnapshotType::action) {
    const Json& action = s.document.contains("action") ? s.document["action"] : Json::object();
    info.action_type = str_at(action, "type");
    info.status = str_at(action, "status");
    if (action.contains("details")) {
      details = action["details"].dump();
    }
  }
  std::string out = format_line(info);
  if (!details.empty() && details != "{}") {
    out += "  " + util::escape_c1(cut(details, k_line_details_chars));
  }
  return out;
}

std::string view::visible(const std::string& text) {
  return util::has_control_chars(text) ? util::escape_c1(dump_json(Json(text), -1)) : text;
}

namespace {

using view::visible;

constexpr std::size_t k_tree_items = 20; // items of one list or table shown
constexpr int k_tree_depth = 5;          // levels shown before compact JSON

std::string scalar_text(const Json& v) {
  return v.is_string() ? visible(v.get<std::string>()) : dump_json(v, -1);
}

// A scalar, an empty container, or a short list of scalars, as one line.
std::optional<std::string> one_line(const Json& v) {
  if (!v.is_structured()) {
    return scalar_text(v);
  }
  if (v.empty()) {
    return std::string(v.is_object() ? "{}" : "[]");
  }
  if (!v.is_array() ||
      std::any_of(v.begin(), v.end(), [](const Json& j) { return j.is_structured(); })) {
    return std::nullopt;
  }
  std::string joined;
  for (const Json& item : v) {
    joined += (joined.empty() ? "" : ", ") + scalar_text(item);
  }
  return joined.size() <= 100 ? std::optional<std::string>(joined) : std::nullopt;
}

void append_more(std::size_t total, int depth, std::string* out) {
  if (total > k_tree_items) {
    *out += std::string(static_cast<std::size_t>(depth) * 2, ' ') + "… " +
            std::to_string(total - k_tree_items) + " more (--json shows all)\n";
  }
}

// An aligned table: a header of the keys, one row per object.
void append_table(const Json& v,
                  const std::vector<std::string>& columns,
                  int depth,
                  std::string* out) {
  std::vector<std::vector<std::string>> rows(1);
  for (const std::string& c : columns) {
    rows[0].push_back(visible(c));
  }
  for (std::size_t i = 0; i < v.size() && i < k_tree_items; ++i) {
    std::vector<std::string> row;
    for (const std::string& c : columns) {
      row.push_back(v[i].contains(c) ? cut(scalar_text(v[i][c]), 60) : "");
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> widths(columns.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t k = 0; k < row.size(); ++k) {
      widths[k] = std::max(widths[k], width(row[k]));
    }
  }
  for (const auto& row : rows) {
    std::string line(static_cast<std::size_t>(depth) * 2, ' ');
    for (std::size_t k = 0; k < row.size(); ++k) {
      line += row[k];
      if (k + 1 < row.size()) {
        line += std::string(widths[k] - width(row[k]) + 2, ' ');
      }
    }
    *out += line + "\n";
  }
  append_more(v.size(), depth, out);
}

// A JSON value as indented "key: value" lines; lists of flat objects as
// tables; long lists cut.
void append_tree(const Json& v, int depth, std::string* out) {
  const std::string pad(static_cast<std::size_t>(depth) * 2, ' ');
  if (auto line = one_line(v)) {
    *out += pad + *line + "\n";
    return;
  }
  if (depth >= k_tree_depth) {
    *out += pad + cut(scalar_text(v), 200) + "\n";
    return;
  }
  if (auto columns = view::record_columns(v); !columns.empty()) {
    append_table(v, columns, depth, out);
    return;
  }
  std::size_t shown = 0;
  for (const auto& [key, value] : v.items()) {
    if (shown++ == k_tree_items) {
      break;
    }
    const std::string head = pad + (v.is_object() ? visible(key) + ":" : "-");
    if (auto line = one_line(value)) {
      *out += head + " " + *line + "\n";
    } else {
      *out += head + (value.is_array() ? " (" + std::to_string(value.size()) + ")" : "") + "\n";
      append_tree(value, depth + 1, out);
    }
  }
  append_more(v.size(), depth, out);
}

} // namespace

std::string format_snapshot(const Snapshot& s) {
  std::ostringstream out;
  out << "Snapshot:  " << s.id << "\n";
  out << "Type:      " << to_string(s.type) << "\n";
  out << "Timestamp: " << format_iso8601(s.timestamp) << "\n";
  if (s.type == SnapshotType::action && s.document.contains("action")) {
    const Json& a = s.document["action"];
    const std::string status = str_at(a, "status");
    out << "Action:    " << str_at(a, "type") << "\n";
    out << "Status:    " << status_mark(status) << " " << status << "\n";
    out << "Started:   " << str_at(a, "started_at") << "\n";
    if (a.contains("start_snapshot_id")) {
      out << "Start:     " << str_at(a, "start_snapshot_id") << "\n";
    }
    out << "Details:\n"
        << (a.contains("details") ? util::escape_c1(dump_json(a["details"], 2)) : "{}") << "\n";
    return out.str();
  }
  std::string sections;
  for (const auto& [key, value] : s.document.items()) {
    if (key == "snapshot_id" || key == "snapshot_type" || key == "timestamp" || key == "metadata") {
      continue;
    }
    if (!value.is_structured()) { // interval and the like: a header line
      std::string label = visible(key);
      label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
      out << label << ":" << std::string(label.size() < 10 ? 10 - label.size() : 1, ' ')
          << scalar_text(value) << "\n";
      continue;
    }
    sections += "\n[" + visible(key) + "]\n";
    append_tree(value, 1, &sections);
  }
  out << sections;
  return out.str();
}

std::string format_summary(const Summary& sum) {
  std::ostringstream out;
  out << "Snapshots:        " << sum.total << " (" << sum.actions << " actions, " << sum.periodic
      << " periodic)\n";
  out << "First:            " << opt_time(sum.first) << "\n";
  out << "Last:             " << opt_time(sum.last) << "\n";
  out << "Latest action:    " << opt_time(sum.latest_action) << "\n";
  out << "Latest periodic:  " << opt_time(sum.latest_periodic) << "\n";
  if (!sum.actions_by_status.empty()) {
    out << "Actions by status:\n";
    for (const auto& [status, n] : sum.actions_by_status) {
      out << "  " << status_mark(status) << " " << status << ": " << n << "\n";
    }
  }
  if (!sum.actions_by_type.empty()) {
    out << "Actions by type:\n";
    for (const auto& [type, n] : sum.actions_by_type) {
      out << "  " << type << ": " << n << "\n";
    }
  }
  return out.str();
}

std::string format_problem(const Problem& p) {
  std::string out(to_string(p.kind));
  out += "  " + (p.path.empty() ? std::string("-") : p.path);
  if (!p.id.empty() && p.path.find(p.id) == std::string::npos) {
    out += "  " + p.id;
  }
  if (!p.detail.empty()) {
    out += "  (" + p.detail + ")";
  }
  return out;
}

Result<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "table") {
    return OutputFormat::table;
  }
  if (name == "json") {
    return OutputFormat::json;
  }
  if (name == "jsonl") {
    return OutputFormat::jsonl;
  }
  if (name == "csv") {
    return OutputFormat::csv;
  }
  return Status::InvalidArgument("unknown output format '" + std::string(name) +
                                 "' (expected table, json, jsonl or csv)");
}

namespace {

// A cell as plain text: strings as they are, everything else as JSON but
// for numbers JSON cannot hold (SQLite's Inf), which stay distinct from NULL.
std::string cell_text(const Json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_number_float() && !std::isfinite(v.get<double>())) {
    const double d = v.get<double>();
    return std::isnan(d) ? "NaN" : d > 0 ? "Inf" : "-Inf";
  }
  return v.is_null() ? std::string() : dump_json(v, -1);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    return s;
  }
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

} // namespace

void RowWriter::header(const std::vector<std::string>& columns) {
  m_columns = columns;
  if (m_format == OutputFormat::json || m_format == OutputFormat::jsonl) {
    // Object keys must differ: a second "a" becomes "a:2" (else the
    // object would keep only the last value).
    std::set<std::string> seen;
    for (std::string& c : m_columns) {
      const std::string base = c;
      for (int n = 2; !seen.insert(c).second; ++n) {
        c = base + ":" + std::to_string(n);
      }
    }
  }
  if (m_format == OutputFormat::csv) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      m_out << (i ? "," : "") << csv_field(columns[i]);
    }
    m_out << "\r\n";
  } else if (m_format == OutputFormat::json) {
    m_out << "[";
  }
}

void RowWriter::row(const std::vector<Json>& values) {
  auto object = [&] {
    Json o = Json::object();
    for (std::size_t i = 0; i < values.size() && i < m_columns.size(); ++i) {
      o[m_columns[i]] = values[i];
    }
    return o;
  };
  switch (m_format) {
  case OutputFormat::json:
    m_out << (m_rows ? ",\n  " : "\n  ") << dump_json(object(), -1);
    break;
  case OutputFormat::jsonl:
    m_out << dump_json(object(), -1) << "\n";
    break;
  case OutputFormat::csv:
    for (std::size_t i = 0; i < values.size(); ++i) {
      m_out << (i ? "," : "") << csv_field(cell_text(values[i]));
    }
    m_out << "\r\n";
    break;
  case OutputFormat::table: {
    std::vector<std::string> cells;
    for (const Json& v : values) {
      std::string t = cell_text(v);
      for (char& c : t) {
        if (c == '\n' || c == '\t' || c == '\r') {
          c = ' ';
        }
      }
      cells.push_back(view::visible(t));
    }
    m_table.push_back(std::move(cells));
    break;
  }
  }
  ++m_rows;
}

void RowWriter::finish() {
  if (m_format == OutputFormat::json) {
    m_out << (m_rows ? "\n]\n" : "]\n");
  }
  if (m_format != OutputFormat::table) {
    return;
  }
  std::vector<std::string> header;
  for (const std::string& c : m_columns) {
    header.push_back(view::visible(c));
  }
  std::vector<std::size_t> widths(header.size(), 0);
  for (std::size_t i = 0; i < header.size(); ++i) {
    widths[i] = width(header[i]);
  }
  for (const auto& r : m_table) {
    for (std::size_t i = 0; i < r.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width(r[i]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) {
        out += std::string(widths[i] - width(cells[i]) + 2, ' ');
      }
    }
    while (!out.empty() && out.back() == ' ') {
      out.pop_back();
    }
    m_out << out << "\n";
  };
  line(header);
  for (const auto& r : m_table) {
    line(r);
  }
  m_out << "(" << m_rows << (m_rows == 1 ? " row)\n" : " rows)\n");
}

std::string dump_json(const Json& j, int indent) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Json to_json(const Summary& sum) {
  Json j = Json::object();
  j["total"] = sum.total;
  j["actions"] = sum.actions;
  j["periodic"] = sum.periodic;
  j["first"] = opt_time_json(sum.first);
  j["last"] = opt_time_json(sum.last);
  j["latest_action"] = opt_time_json(sum.latest_action);
  j["latest_periodic"] = opt_time_json(sum.latest_periodic);
  j["actions_by_status"] = Json::object();
  for (const auto& [k, v] : sum.actions_by_status) {
    j["actions_by_status"][k] = v;
  }
  j["actions_by_type"] = Json::object();
  for (const auto& [k, v] : sum.actions_by_type) {
    j["actions_by_type"][k] = v;
  }
  return j;
}

Json to_json(const SnapshotInfo& info) {
  Json j = Json::object();
  j["snapshot_id"] = info.id;
  j["snapshot_type"] = to_string(info.type);
  j["timestamp"] = format_iso8601(info.timestamp);
  if (info.type == SnapshotType::action) {
    j["action_type"] = info.action_type;
    j["status"] = info.status;
  }
  return j;
}

namespace {

Json problems_json(const std::vector<Problem>& problems) {
  Json arr = Json::array();
  for (const Problem& p : problems) {
    Json j = Json::object();
    j["kind"] = to_string(p.kind);
    j["id"] = p.id;
    j["path"] = p.path;
    j["detail"] = p.detail;
    arr.push_back(std::move(j));
  }
  return arr;
}

} // namespace

Json to_json(const VerifyReport& r) {
  Json j = Json::object();
  j["clean"] = r.clean();
  j["snapshots"] = r.snapshots;
  j["files"] = r.files;
  j["lines"] = r.lines;
  j["problems"] = problems_json(r.problems);
  return j;
}

Json to_json(const ChainHead& h) {
  Json j = Json::object();
  j["seq"] = h.record.seq;
  j["snapshot_id"] = h.id;
  if (!h.record.prev.empty()) {
    j["prev"] = h.record.prev;
  }
  j["hash"] = h.record.hash;
  return j;
}

Json to_json(const ChainReport& r) {
  Json j = Json::object();
  j["clean"] = r.clean();
  j["snapshots"] = r.snapshots;
  j["archived"] = r.archived;
  j["archived_unchained"] = r.archived_unchained;
  j["files"] = r.files;
  j["lines"] = r.lines;
  j["anchors"] = r.anchors;
  j["head"] = r.head ? to_json(*r.head) : Json();
  Json breaks = Json::array();
  for (const ChainBreak& b : r.breaks) {
    Json e = Json::object();
    e["where"] = b.where;
    e["snapshot_id"] = b.id;
    e["seq"] = b.seq;
    e["path"] = b.path;
    e["detail"] = b.detail;
    breaks.push_back(std::move(e));
  }
  j["breaks"] = std::move(breaks);
  j["more_breaks"] = r.more_breaks;
  return j;
}

namespace {

bool is_hash_hex(std::string_view s) {
  store::Digest unused;
  return store::from_hex(s, &unused);
}

} // namespace

Result<ChainAnchor> read_chain_anchor(const std::string& arg) {
  ChainAnchor a;
  const std::size_t colon = arg.find(':');
  if (colon != std::string::npos && colon > 0 && colon < 20 &&
      std::all_of(arg.begin(), arg.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    a.seq = std::stoll(arg.substr(0, colon));
    a.hash = arg.substr(colon + 1);
    if (a.seq <= 0 || !is_hash_hex(a.hash)) {
      return Status::InvalidArgument("anchor " + arg +
                                     ": expected SEQ:HASH with SEQ > 0 and HASH 64 lowercase hex "
                                     "digits");
    }
    return a;
  }
  std::string text;
  BARROT_TRY(util::read_file(AT_FDCWD, arg, &text, /*nofollow=*/false, 1 << 20)
                 .WithContext("anchor file"));
  Json j = util::parse_json(text);
  if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer() ||
      j["seq"].get<std::int64_t>() <= 0 || !j.contains("hash") || !j["hash"].is_string() ||
      !is_hash_hex(j["hash"].get_ref<const std::string&>())) {
    return Status::InvalidArgument("anchor file " + arg +
                                   ": expected a JSON object with \"seq\" (a positive integer) "
                                   "and \"hash\" (64 lowercase hex digits), as barrot chain-head "
                                   "prints");
  }
  a.seq = j["seq"].get<std::int64_t>();
  a.hash = j["hash"].get<std::string>();
  if (j.contains("snapshot_id")) {
    const Json& id = j["snapshot_id"];
    if (!id.is_string() || !validate_snapshot_id(id.get_ref<const std::string&>()).ok()) {
      return Status::InvalidArgument("anchor file " + arg +
                                     ": \"snapshot_id\" is not a snapshot id");
    }
    a.snapshot_id = id.get<std::string>();
  }
  return a;
}

std::string format_chain_break(const ChainBreak& b) {
  std::string out = b.where;
  out += "  " + (b.path.empty() ? std::string("-") : b.path);
  if (!b.id.empty() && b.path.find(b.id) == std::string::npos) {
    out += "  " + b.id;
  }
  if (b.seq > 0) {
    out += " (seq " + std::to_string(b.seq) + ")";
  }
  out += "  (" + b.detail + ")";
  return out;
}

Json to_json(const RepairReport& r) {
  Json j = Json::object();
  j["files_written"] = r.files_written;
  j["lines_appended"] = r.lines_appended;
  j["lines_dropped"] = r.lines_dropped;
  j["log_rewritten"] = r.log_rewritten;
  j["latest_written"] = r.latest_written;
  j["temp_files_removed"] = r.temp_files_removed;
  j["archived_files_removed"] = r.archived_files_removed;
  j["archived_lines_removed"] = r.archived_lines_removed;
  j["quarantine_dir"] = r.quarantine_dir;
  j["left_alone"] = problems_json(r.left_alone);
  return j;
}

Json to_json(const ImportReport& r) {
  Json j = Json::object();
  j["files_read"] = r.files_read;
  j["lines_read"] = r.lines_read;
  j["imported"] = r.imported;
  j["already_present"] = r.already_present;
  j["conflicts"] = r.conflicts;
  Json skipped = Json::array();
  for (const auto& s : r.skipped) {
    skipped.push_back(Json{{"source", s.source}, {"reason", s.reason}});
  }
  j["skipped"] = std::move(skipped);
  j["future"] = r.future;
  j["newest_future"] = r.newest_future.empty() ? Json(nullptr) : Json(r.newest_future);
  j["seconds"] = Json{{"database", r.database_seconds}, {"mirror", r.mirror_seconds}};
  j["mirror_error"] = r.mirror.ok() ? Json(nullptr) : Json(r.mirror.message());
  return j;
}

Json to_json(const DatabaseRestoreReport& r) {
  Json j;
  j["snapshots"] = r.snapshots;
  j["newest"] = r.newest.empty() ? Json(nullptr) : Json(r.newest);
  j["backup_schema"] = r.backup_schema;
  j["replaced"] = r.replaced;
  j["set_aside"] = r.set_aside;
  j["repaired_before"] = to_json(r.repaired_before);
  Json since = Json::array();
  for (const auto& a : r.archived_since) {
    since.push_back(Json{{"month", a.month}, {"file", a.file}});
  }
  j["archived_since"] = std::move(since);
  j["imported"] = to_json(r.imported);
  j["repaired"] = to_json(r.repaired);
  return j;
}

Json to_json(const ArchiveRunReport& r) {
  Json j = Json::object();
  j["dry_run"] = r.dry_run;
  j["resumed"] = r.resumed;
  j["relocated"] = r.relocated;
  Json months = Json::array();
  std::int64_t moved = 0;
  for (const MonthReport& m : r.months) {
    Json mj = Json::object();
    mj["month"] = m.month;
    mj["file"] = m.file;
    mj["actions"] = m.actions;
    mj["periodic"] = m.periodic;
    mj["bytes"] = m.bytes;
    if (!r.dry_run) {
      mj["in_archive"] = m.in_archive;
      mj["archive_bytes"] = m.archive_bytes;
      mj["files_removed"] = m.files_removed;
      mj["lines_removed"] = m.lines_removed;
      mj["archive_seconds"] = m.archive_seconds;
      mj["delete_seconds"] = m.delete_seconds;
      mj["cleanup_seconds"] = m.cleanup_seconds;
    }
    moved += m.actions + m.periodic;
    months.push_back(std::move(mj));
  }
  j["months"] = std::move(months);
  j["snapshots"] = moved;
  Json problems = Json::array();
  for (const ArchiveProblem& p : r.problems) {
    problems.push_back(Json{{"file", p.file}, {"detail", p.detail}});
  }
  j["problems"] = std::move(problems);
  j["db_bytes_before"] = r.db_bytes_before;
  j["db_bytes_after"] = r.db_bytes_after;
  j["db_bytes_freed"] = std::max<std::int64_t>(0, r.db_bytes_before - r.db_bytes_after);
  j["vacuum_seconds"] = r.vacuum_seconds;
  j["unfinished"] = r.unfinished.ok() ? Json(nullptr) : Json(r.unfinished.message());
  return j;
}

Json to_json(const ArchiveInfo& a) {
  Json j = Json::object();
  j["month"] = a.month;
  j["state"] = a.state;
  j["file"] = a.file;
  j["snapshots"] = a.snapshots;
  j["actions"] = a.actions;
  j["periodic"] = a.periodic;
  j["content_bytes"] = a.content_bytes;
  j["archive_bytes"] = a.archive_bytes;
  j["ratio"] = a.archive_bytes > 0
                   ? static_cast<double>(a.content_bytes) / static_cast<double>(a.archive_bytes)
                   : 0.0;
  j["first"] = Json{{"snapshot_id", a.first_id}, {"timestamp", a.first_timestamp}};
  j["last"] = Json{{"snapshot_id", a.last_id}, {"timestamp", a.last_timestamp}};
  return j;
}

Json to_json(const ArchiveVerifyReport& r) {
  Json j = Json::object();
  j["clean"] = r.clean();
  j["archives"] = r.archives;
  j["snapshots"] = r.snapshots;
  Json problems = Json::array();
  for (const ArchiveProblem& p : r.problems) {
    problems.push_back(Json{{"month", p.month}, {"file", p.file}, {"detail", p.detail}});
  }
  j["problems"] = std::move(problems);
  return j;
}

Json to_json(const RestoreReport& r) {
  Json j = Json::object();
  j["month"] = r.month;
  j["relocated"] = r.relocated;
  j["restored"] = r.restored;
  j["already_present"] = r.already_present;
  j["conflicts"] = r.conflicts;
  j["mirror_error"] = r.mirror.ok() ? Json(nullptr) : Json(r.mirror.message());
  return j;
}

Status write_output_file(const std::string& path, std::string_view text) {
  if (path.empty() || path.back() == '/') {
    return Status::InvalidArgument("not a file name: '" + path + "'");
  }
  struct stat here {};
  const bool exists = ::lstat(path.c_str(), &here) == 0;
  struct stat target = here; // what a symlink leads to
  if (exists && S_ISLNK(here.st_mode) && ::stat(path.c_str(), &target) != 0) {
    target = here; // dangling: replaced like any link
  }
  if (exists && S_ISDIR(target.st_mode)) {
    return Status::InvalidArgument("'" + path + "' is a directory");
  }
  if (exists && !S_ISREG(target.st_mode) && !S_ISLNK(target.st_mode)) {
    // A device, FIFO or socket (or a link to one: /dev/stdout): replacing
    // it with a file would break it (as root, -o /dev/null would have
    // made /dev/null a file), so it is written into.
    util::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
      return util::errno_status("cannot open", path, errno);
    }
    return util::write_all(fd.get(), text, path);
  }
  // A regular file, new or replaced; a symlink to one is replaced, not
  // followed (one planted in a shared directory must not redirect us).
  const auto slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  util::UniqueFd dir_fd;
  BARROT_TRY(util::open_dir(util::parent_dir(path), &dir_fd).WithContext("output directory"));
  util::AtomicWriter w;
  BARROT_TRY(w.open(dir_fd.get(), name, util::FsyncMode::fsync));
  BARROT_TRY(w.append(text));
  BARROT_TRY(w.flush());
  if (exists && S_ISREG(here.st_mode)) {
    // The file's mode and owner, not the defaults (chown works as root only).
    if (::fchmod(w.fd(), here.st_mode & 07777) != 0) {
      return util::errno_status("cannot set the mode of", path, errno);
    }
    (void)!::fchown(w.fd(), here.st_uid, here.st_gid);
  }
  return w.commit(util::Overwrite::yes);
}

std::string format_bytes(std::int64_t bytes) {
  static constexpr const char* k_units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(k_units)) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, k_units[u]);
  return buf;
}

} // namespace barrot

namespace barrot::view {

std::vector<std::string> record_columns(const Json& v) {
  std::vector<std::string> columns;
  if (!v.is_array() || v.empty()) {
    return columns;
  }
  for (const Json& item : v) {
    if (!item.is_object()) {
      return {};
    }
    for (const auto& [key, value] : item.items()) {
      if (value.is_structured()) {
        return {};
      }
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) {
        columns.push_back(key);
      }
    }
  }
  return columns;
}

} // namespace barrot::view
