// The legacy import reader: one file or log line of a snapshots directory
// from anywhere (the legacy Python system, another Barrot store).
#include "fuzz_util.h"
#include "mirror/mirror.h"
#include "store/store_impl.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace barrot;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string id = mirror::log_line_id(text);
  FUZZ_CHECK(id.empty() || id.find('\0') == std::string::npos);
  Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    return 0;
  }
  PendingRow row;
  if (!row_from_document(doc, "", &row).ok()) {
    return 0;
  }
  // What is stored is a valid snapshot id, and no chain record.
  FUZZ_CHECK(validate_snapshot_id(row.id).ok());
  Json stored = Json::parse(row.compact, nullptr, false);
  FUZZ_CHECK(!stored.is_discarded());
  auto left = store::detach_chain(&stored);
  FUZZ_CHECK(left.ok() && !left->has_value());
  fuzz::check_chain_round_trip(row.compact);
  return 0;
}
