#include "archive/zstd_io.h"

#include "util/lines.h"

#include <algorithm>
#include <vector>
#include <zstd.h>

namespace barrot::archive {

namespace {

Status zstd_error(const char* what, std::size_t code) {
  return Status::Corruption(std::string(what) + ": " + ZSTD_getErrorName(code));
}

// A decompression context, freed on scope exit.
struct Dctx {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~Dctx() { ZSTD_freeDCtx(d); }

  // OK when the context exists and there is something to decompress.
  Status check(std::string_view compressed) const {
    if (d == nullptr) {
      return Status::IOError("cannot create a zstd context (out of memory)");
    }
    if (compressed.empty()) {
      return Status::Corruption("empty file, not zstd data");
    }
    return Status::OK();
  }
};

} // namespace

struct Compressor::State {
  ZSTD_CCtx* cctx = nullptr;
  std::string pending; // input not yet handed to zstd
  std::string out;
  ~State() { ZSTD_freeCCtx(cctx); }
};

// Input is handed to zstd in blocks of this size: large enough that the
// per-call overhead vanishes, small enough to stay in cache.
constexpr std::size_t k_block = 1u << 20;

Status Compressor::Create(int level, int workers, std::unique_ptr<Compressor>* out) {
  if (level < 1 || level > ZSTD_maxCLevel()) {
    return Status::InvalidArgument("zstd level " + std::to_string(level) + " is not in 1.." +
                                   std::to_string(ZSTD_maxCLevel()));
  }
  std::unique_ptr<Compressor> c(new Compressor());
  c->m_state = std::make_unique<State>();
  c->m_state->cctx = ZSTD_createCCtx();
  if (c->m_state->cctx == nullptr) {
    return Status::IOError("cannot create a zstd context (out of memory)");
  }
  ZSTD_CCtx* cctx = c->m_state->cctx;
  std::size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(r)) {
    r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  }
  if (ZSTD_isError(r)) {
    return zstd_error("cannot configure zstd", r);
  }
  if (workers > 0) {
    // A libzstd built without threads refuses: compress on this thread then.
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers);
  }
  *out = std::move(c);
  return Status::OK();
}

Compressor::~Compressor() = default;

Status Compressor::drain(bool end) {
  State& s = *m_state;
  ZSTD_inBuffer in{s.pending.data(), s.pending.size(), 0};
  const ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
  for (;;) {
    const std::size_t chunk = ZSTD_CStreamOutSize();
    const std::size_t old = s.out.size();
    s.out.resize(old + chunk);
    ZSTD_outBuffer outb{s.out.data() + old, chunk, 0};
    const std::size_t left = ZSTD_compressStream2(s.cctx, &outb, &in, mode);
    s.out.resize(old + outb.pos);
    if (ZSTD_isError(left)) {
      return zstd_error("zstd compression failed", left);
    }
    if (end ? left == 0 : in.pos == in.size) {
      break;
    }
  }
  s.pending.clear();
  return Status::OK();
}

Status Compressor::add(std::string_view data) {
  m_state->pending.append(data);
  if (m_state->pending.size() >= k_block) {
    return drain(false);
  }
  return Status::OK();
}

Status Compressor::finish(std::string* out) {
  BARROT_TRY(drain(true));
  *out = std::move(m_state->out);
  m_state->out.clear();
  return Status::OK();
}

Status for_each_line(std::string_view compressed,
                     const std::function<bool(std::string_view line)>& on_line,
                     std::int64_t* bytes_out) {
  Dctx dctx;
  BARROT_TRY(dctx.check(compressed));
  std::vector<char> buf(ZSTD_DStreamOutSize() * 4);
  util::LineSplitter lines; // a line may be split across output buffers
  std::int64_t total = 0;
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  std::size_t last = 1; // nonzero: mid-frame
  bool stop = false;
  while (!stop && (in.pos < in.size || last != 0)) {
    ZSTD_outBuffer out{buf.data(), buf.size(), 0};
    const std::size_t before_in = in.pos;
    last = ZSTD_decompressStream(dctx.d, &out, &in);
    if (ZSTD_isError(last)) {
      return zstd_error("not a valid zstd archive", last);
    }
    if (out.pos == 0 && in.pos == before_in) {
      break; // no progress: input ended mid-frame
    }
    total += static_cast<std::int64_t>(out.pos);
    stop = !lines.feed(std::string_view(buf.data(), out.pos), on_line);
  }
  if (stop) {
    return Status::OK();
  }
  if (last != 0) {
    return Status::Corruption("the zstd archive ends mid-frame (truncated)");
  }
  if (!lines.rest().empty()) {
    return Status::Corruption("the archive's last line has no newline");
  }
  if (bytes_out != nullptr) {
    *bytes_out = total;
  }
  return Status::OK();
}

Status decompress(std::string_view compressed,
                  std::size_t size,
                  std::string* out,
                  const std::function<void(std::size_t)>& on_progress) {
  Dctx dctx;
  BARROT_TRY(dctx.check(compressed));
  // One byte more than expected: a longer content fills it and is refused.
  out->resize(size + 1);
  std::size_t used = 0;
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  std::size_t last = 1;
  while (in.pos < in.size || last != 0) {
    const std::size_t room = std::min(out->size() - used, std::size_t{1} << 20);
    ZSTD_outBuffer outb{out->data() + used, room, 0};
    const std::size_t before_in = in.pos;
    last = ZSTD_decompressStream(dctx.d, &outb, &in);
    used += outb.pos;
    if (ZSTD_isError(last)) {
      return zstd_error("not a valid zstd archive", last);
    }
    if (used > size) {
      return Status::Corruption("the archive holds more than " + std::to_string(size) + " bytes");
    }
    if (on_progress && outb.pos > 0) {
      on_progress(used);
    }
    if (outb.pos == 0 && in.pos == before_in) {
      break;
    }
  }
  out->resize(used);
  if (last != 0) {
    return Status::Corruption("the zstd archive ends mid-frame (truncated)");
  }
  return Status::OK();
}

} // namespace barrot::archive
