// The hash chain over snapshots (docs/integrity.md).
//
// Every snapshot, in insertion order (seq), is linked to the one before it:
//
//   hash = SHA-256(prev + content)
//
// where `prev` is the previous snapshot's hash as 64 lowercase hex digits
// (64 zeros for the first) and `content` is the snapshot's compact document,
// as the `snapshots` view's `document` column holds it. The database stores
// each row's `prev` (snapshot_rows.chain_prev, 32 bytes); the mirror files,
// log lines and archive lines carry the record {"seq","prev","hash"} inside
// "metadata" (or at the top level when a document has no metadata object),
// where the seed's viewers do not look.
#pragma once

#include <barrot/snapshot.h>
#include <barrot/status.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace barrot::store {

using Digest = std::array<unsigned char, 32>;

// The `prev` of the first snapshot in a chain.
inline constexpr Digest k_genesis{};

// The key of the chain record, in "metadata" or at the top level.
inline constexpr const char* k_chain_key = "chain";

struct ChainLink {
  std::int64_t seq = 0;
  Digest prev{};
  Digest hash{};
};

// SHA-256 of the hex of `prev` followed by `content`.
Digest chain_hash(const Digest& prev, std::string_view content);

std::string to_hex(const Digest& d);
// False unless `hex` is exactly 64 lowercase hex digits.
bool from_hex(std::string_view hex, Digest* out);
// A stored chain_prev (a BLOB of 32 bytes); false for anything else.
bool from_blob(const void* data, int bytes, Digest* out);

// {"seq":N,"prev":"<hex>","hash":"<hex>"}
Json chain_record(const ChainLink& link);

// Adds the chain record to a snapshot document: as the last key of
// "metadata" when that is an object, else as the last top-level key.
void attach_chain(Json* doc, const ChainLink& link);

// Removes the chain record from where attach_chain puts it and returns it
// (nullopt when there is none). InvalidArgument when the key is there but
// does not hold a well-formed record: the document is left unchanged.
Result<std::optional<ChainLink>> detach_chain(Json* doc);

// The mirror forms of a snapshot whose content (compact document) is
// `content`: its action_log.jsonl line / archive line, and its <id>.json.
// Corruption when `content` is not a JSON object.
Result<std::string> mirror_line(std::string_view content, const ChainLink& link);
Result<std::string> mirror_file(std::string_view content, const ChainLink& link);

} // namespace barrot::store
