// Details JSON intake: what `barrot action TYPE DETAILS` and the library's
// ActionInput accept, through to the stored document and its mirror forms.
#include "fuzz_util.h"
#include "store/store_impl.h"

#include <barrot/snapshot.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace barrot;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto details = parse_details_json(text);
  if (!details.ok()) {
    return 0;
  }
  std::string compact_details;
  if (!validate_details(*details, &compact_details).ok()) {
    return 0;
  }
  ActionInput in;
  in.type = "fuzz";
  in.details = *details;
  const TimeUs ts = 1'735'689'600'000'000; // 2025-01-01
  const Json doc = store::action_document(make_snapshot_id(SnapshotType::action, ts), ts, in);
  const std::string content = store::compact(doc);
  // The details appear in the document exactly as validated.
  FUZZ_CHECK(content.find(compact_details) != std::string::npos);
  fuzz::check_chain_round_trip(content);
  return 0;
}
