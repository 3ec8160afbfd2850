// Readable and JSON renderings of snapshots and reports, for the CLI and for
// any program that shows them. Pure functions of their arguments.
#pragma once

#include <barrot/archive.h>
#include <barrot/export.h>
#include <barrot/snapshot.h>
#include <barrot/store.h>

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace barrot {

// "✓" completed, "✗" failed, "…" executing, "◆" periodic.
BARROT_EXPORT std::string_view status_mark(std::string_view status);

// One line: mark, timestamp, id, type and status (actions) and details.
BARROT_EXPORT std::string format_line(const Snapshot& snapshot);
BARROT_EXPORT std::string format_line(const SnapshotInfo& info);

// A multi-line readable view: sections of a periodic snapshot, or the fields
// of an action.
BARROT_EXPORT std::string format_snapshot(const Snapshot& snapshot);

BARROT_EXPORT std::string format_summary(const Summary& summary);
BARROT_EXPORT std::string format_problem(const Problem& problem);

// Output formats for tabular results (`barrot sql`, searches).
enum class OutputFormat { table, json, jsonl, csv };

// "table", "json", "jsonl" or "csv"; InvalidArgument otherwise.
BARROT_EXPORT Result<OutputFormat> parse_output_format(std::string_view name);

// Writes rows in one of the formats: table (aligned columns; rows are held
// until finish() to size them), json (one array of objects), jsonl (one
// object per line), csv (RFC 4180, a header line first).
class BARROT_EXPORT RowWriter {
public:
  RowWriter(std::ostream& out, OutputFormat format) : m_out(out), m_format(format) {}
  void header(const std::vector<std::string>& columns);
  void row(const std::vector<Json>& values);
  void finish();

private:
  std::ostream& m_out;
  OutputFormat m_format;
  std::vector<std::string> m_columns;
  std::vector<std::vector<std::string>> m_table; // table format only
  std::size_t m_rows = 0;
};

// `j` as text (compact for indent < 0); invalid UTF-8 in strings (e.g. file
// names from disk) is replaced by U+FFFD rather than failing.
BARROT_EXPORT std::string dump_json(const Json& j, int indent = 2);

BARROT_EXPORT Json to_json(const Summary& summary);
BARROT_EXPORT Json to_json(const SnapshotInfo& info);
BARROT_EXPORT Json to_json(const VerifyReport& report);
BARROT_EXPORT Json to_json(const RepairReport& report);
BARROT_EXPORT Json to_json(const ImportReport& report);
BARROT_EXPORT Json to_json(const DatabaseRestoreReport& report);
BARROT_EXPORT Json to_json(const ArchiveRunReport& report);
BARROT_EXPORT Json to_json(const ArchiveInfo& info);
BARROT_EXPORT Json to_json(const ArchiveVerifyReport& report);
BARROT_EXPORT Json to_json(const RestoreReport& report);
BARROT_EXPORT Json to_json(const ChainReport& report);
// {"seq", "snapshot_id", "hash"}, plus "prev" when known: what
// `barrot verify --chain --anchor FILE` reads back.
BARROT_EXPORT Json to_json(const ChainHead& head);

// An anchor for Store::verify_chain from "SEQ:HASH", or from the file at
// path `arg` holding what `barrot chain-head` prints. InvalidArgument
// naming the problem.
BARROT_EXPORT Result<ChainAnchor> read_chain_anchor(const std::string& arg);

// One line: "<where>  <path or ->  <id> (seq N)  (<detail>)".
BARROT_EXPORT std::string format_chain_break(const ChainBreak& b);

// Writes `text` to `path`. A regular file (new, or there already) is
// written atomically: a temporary file beside it, fsynced, then renamed
// over it, so a reader (a web server, node_exporter's textfile collector)
// sees the old file or the new one, never a part; an existing file keeps
// its mode (and, as root, its owner). A symlink to a regular file is
// replaced, not followed. A device, FIFO or socket there, or a link to one
// (/dev/null, /dev/stdout, a terminal), is written into, never replaced; a
// directory is an error.
BARROT_EXPORT Status write_output_file(const std::string& path, std::string_view text);

// "12.3 MB": bytes for people (powers of 1000, like `ls --si`).
BARROT_EXPORT std::string format_bytes(std::int64_t bytes);

} // namespace barrot
