// zstd compression into memory and line-by-line decompression (libzstd).
// Frames carry zstd's content checksum, so damage is found on reading.
#pragma once

#include <barrot/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace barrot::archive {

class Compressor {
public:
  // `level` as for `zstd -LEVEL` (1..19); `workers` > 0 compresses on that
  // many threads besides the caller's (libzstd's multithreaded mode).
  static Status Create(int level, int workers, std::unique_ptr<Compressor>* out);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  Status add(std::string_view data);
  // Ends the frame; `out` receives everything compressed (the Compressor is
  // then spent).
  Status finish(std::string* out);

private:
  Compressor() = default;
  Status drain(bool end);
  struct State;
  std::unique_ptr<State> m_state;
};

// Decompresses all of `compressed` into `out`, which is sized once to
// `size`, the size expected: Corruption when the content is longer, or as
// for_each_line. `on_progress(n)`, if set, is called whenever the first n
// bytes of `out` are final (`out` is never reallocated meanwhile).
Status decompress(std::string_view compressed,
                  std::size_t size,
                  std::string* out,
                  const std::function<void(std::size_t)>& on_progress = {});

// Decompresses `compressed` (one or more frames; skippable frames are
// skipped) and calls `on_line(line)` for every line, without its newline,
// in order, until it returns false. Corruption when the data is not zstd,
// fails its checksum, ends mid-frame, or its last line lacks a newline.
// `bytes_out`, if not null, receives the decompressed size.
Status for_each_line(std::string_view compressed,
                     const std::function<bool(std::string_view line)>& on_line,
                     std::int64_t* bytes_out);

} // namespace barrot::archive
