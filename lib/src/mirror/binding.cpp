// Binding a snapshots directory to its store. The database holds the
// store's id and the id of its current mirror (migrations/0006_mirror_id.sql);
// the directory it mirrors to holds the same two in .barrot/mirror-id. So
// one database is not mirrored into two directories, nor two databases
// into one (docs/formats.md, "The .barrot folder").
#include "mirror/mirror.h"
#include "store/database.h"
#include "store/store_impl.h"
#include "util/fs.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

namespace barrot {

namespace {

constexpr std::size_t k_id_chars = 32; // 128 bits, lowercase hex
// mirror::k_mirror_id_name, within mirror::k_state_dir.
constexpr const char* k_mirror_id_file = "mirror-id";

bool valid_id(std::string_view id) {
  if (id.size() != k_id_chars) {
    return false;
  }
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

Result<std::string> new_mirror_id() {
  unsigned char bytes[k_id_chars / 2];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return util::errno_status("cannot make", "a mirror id", errno);
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += k_hex[b >> 4];
    out += k_hex[b & 15];
  }
  return out;
}

// What a directory's .barrot/mirror-id says: both ids empty when the
// directory, or the file, does not exist (yet); `damaged` when the file
// holds anything but two ids (a crash can leave it empty).
struct DirBinding {
  std::string store_id;
  std::string mirror_id;
  bool damaged = false;
  bool present() const { return damaged || !store_id.empty(); }
};

// Read by path: the Mirror may not be open yet.
Status read_dir_binding(const std::string& dir, DirBinding* out) {
  *out = DirBinding{};
  const std::string path = dir + "/" + mirror::k_mirror_id_name;
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return Status::OK(); // Mirror::Open reports a directory that is not one
    }
    return util::errno_status("cannot open", path, errno);
  }
  char buf[2 * k_id_chars + 3];
  std::size_t got = 0;
  BARROT_TRY(util::read_some(fd.get(), buf, sizeof buf, &got, path));
  const std::string_view text(buf, got);
  if (got != 2 * k_id_chars + 2 || text[k_id_chars] != ' ' || text.back() != '\n' ||
      !valid_id(text.substr(0, k_id_chars)) || !valid_id(text.substr(k_id_chars + 1, k_id_chars))) {
    out->damaged = true;
    return Status::OK();
  }
  out->store_id = std::string(text.substr(0, k_id_chars));
  out->mirror_id = std::string(text.substr(k_id_chars + 1, k_id_chars));
  return Status::OK();
}

enum class Binding {
  bound,   // the directory is this store's mirror
  first,   // neither is bound yet: bind them
  half,    // a first binding cut short after the directory's file
  refused, // another store's, another directory than this store's, or damaged
};

Binding classify(const Store::Impl::Checkpoint& cp, const DirBinding& d) {
  if (d.damaged) {
    return Binding::refused;
  }
  if (!cp.mirror_id.empty() && d.store_id == cp.store_id && d.mirror_id == cp.mirror_id) {
    return Binding::bound;
  }
  if (cp.mirror_id.empty() && d.store_id.empty()) {
    return Binding::first;
  }
  if (cp.mirror_id.empty() && d.store_id == cp.store_id) {
    return Binding::half;
  }
  return Binding::refused;
}

// Adopt::if_empty: a store that never held a snapshot (none stored, none
// archived). REQUIRES: cp read from `db`.
Result<bool> adopts(SQLite::Database& db, const Store::Impl::Checkpoint& cp, Adopt adopt) {
  if (adopt == Adopt::yes) {
    return true;
  }
  if (adopt == Adopt::no || cp.newest_seq != 0) {
    return false;
  }
  bool empty = false;
  BARROT_TRY(store::guarded("cannot read the store", [&]() -> Status {
    empty = db.execAndGet("SELECT count(*) FROM archives").getInt64() == 0 &&
            db.execAndGet("SELECT count(*) FROM chain_tail").getInt64() == 0;
    return Status::OK();
  }));
  return empty;
}

const char* k_lost_database_advice = "; if its database was lost, make a new one from the mirror "
                                     "with `barrot import DIR` (DIR being this directory)";

Status refusal(const Store::Impl& impl, const Store::Impl::Checkpoint& cp, const DirBinding& d) {
  const std::string& dir = impl.options.snapshots_dir;
  const std::string rebuild = "`barrot mirror --rebuild` with these paths makes " + dir +
                              " this store's mirror, rewriting its files and log from this "
                              "database";
  const std::string file = dir + "/" + mirror::k_mirror_id_name;
  if (d.damaged) {
    return Status::Corruption(file +
                              " does not hold a store id and a mirror id (a crash, or an "
                              "edit); " +
                              rebuild);
  }
  if (!d.present()) {
    return Status::InvalidArgument(
        "the database " + impl.db_path + " is the store of another snapshots directory, not of " +
        dir + " (which has no " + mirror::k_mirror_id_name +
        "): pass that directory with --dir; if it was lost, or this one's " +
        mirror::k_mirror_id_name + " was deleted, " + rebuild);
  }
  if (d.store_id != cp.store_id) {
    return Status::InvalidArgument(
        "the snapshots directory " + dir + " is the mirror of another store (id " + d.store_id +
        "), not of the database " + impl.db_path + " (id " + cp.store_id +
        "): pass that store's database with --db" + k_lost_database_advice +
        "; or, to give the directory to this "
        "store, " +
        rebuild);
  }
  return Status::InvalidArgument("the snapshots directory " + dir +
                                 " was a mirror of the database " + impl.db_path +
                                 ", which has since been bound to another directory (by `barrot "
                                 "mirror --rebuild` or an import there; or a rebuild here was cut "
                                 "short): pass that directory with --dir; or " +
                                 rebuild);
}

} // namespace

Status store::check_backup_binding(const std::string& dir,
                                   const std::string& store_id,
                                   const std::string& mirror_id,
                                   const std::string& backup) {
  DirBinding d;
  BARROT_TRY(read_dir_binding(dir, &d));
  if (!d.damaged && d.store_id == store_id && d.mirror_id == mirror_id) {
    return Status::OK();
  }
  if (!d.damaged && !d.present() && mirror_id.empty()) {
    return Status::OK(); // neither was ever bound: the first open binds them
  }
  const std::string way_on =
      ": nothing was changed. To restore it anyway, into a new snapshots directory: `barrot "
      "--db NEW.db --dir NEW_DIR mirror --rebuild` after copying it to NEW.db";
  if (d.damaged) {
    return Status::InvalidArgument(dir + "/" + mirror::k_mirror_id_name +
                                   " does not hold a store id and a mirror id, so the backup " +
                                   backup + " cannot be checked against it" + way_on);
  }
  if (!d.present()) {
    return Status::InvalidArgument("the snapshots directory " + dir +
                                   " is no store's mirror (it has no " + mirror::k_mirror_id_name +
                                   "; a mistyped --dir?), and the backup " + backup +
                                   " is of a store that has one" + way_on);
  }
  if (valid_id(store_id) && d.store_id != store_id) {
    return Status::InvalidArgument("the backup " + backup + " is of another store (id " + store_id +
                                   ") than the one " + dir + " mirrors (id " +
                                   (d.present() ? d.store_id : std::string("none")) + ")" + way_on);
  }
  return Status::InvalidArgument(
      "the backup " + backup + " was taken before " + dir +
      " last became its store's mirror (`barrot mirror --rebuild`, an import of the directory "
      "itself, or a schema older than 6), so its files cannot be trusted to match it" +
      way_on);
}

Status Store::Impl::check_new_database() {
  DirBinding d;
  BARROT_TRY(read_dir_binding(options.snapshots_dir, &d));
  if (options.adopt_mirror != Adopt::no) {
    // A new database for a directory whose own was lost (`barrot import` of
    // the directory): a -wal the lost one left would be replayed into the
    // new file. No writer creates one meanwhile: they refuse such a
    // directory (below).
    if (d.present()) {
      BARROT_TRY(store::set_aside_stale_wal(db_path, nullptr));
    }
    return Status::OK();
  }
  if (!d.present()) {
    return Status::OK();
  }
  return Status::InvalidArgument("there is no database at " + db_path +
                                 ", but the snapshots directory " + options.snapshots_dir +
                                 " is the mirror of a store" +
                                 (d.damaged ? std::string() : " (id " + d.store_id + ")") +
                                 ": pass its database with --db" + k_lost_database_advice);
}

Status Store::Impl::check_mirror_binding(Adopt adopt, bool* bind, Checkpoint* out) {
  *bind = false;
  Checkpoint& cp = *out;
  BARROT_TRY(read_checkpoint(&cp));
  if (!valid_id(cp.store_id) || !(cp.mirror_id.empty() || valid_id(cp.mirror_id))) {
    return Status::Corruption("the database " + db_path +
                              " holds no valid store or mirror id (mirror_checkpoint)");
  }
  DirBinding d;
  BARROT_TRY(read_dir_binding(options.snapshots_dir, &d));
  const Binding b = classify(cp, d);
  if (b == Binding::refused) {
    BARROT_TRY_ASSIGN(const bool adopt_it, adopts(*db, cp, adopt));
    if (!adopt_it) {
      return refusal(*this, cp, d);
    }
  }
  *bind = b != Binding::bound;
  return Status::OK();
}

Status Store::Impl::bind_mirror() {
  util::FileLock lock;
  BARROT_TRY(mirror->lock_store(&lock, util::FileLock::Mode::exclusive, options.busy_timeout_ms));
  return store::guarded("cannot record the mirror binding", [&]() -> Status {
    // The SQLite write lock too, so that the binding read here is the one
    // replaced below (another directory's open cannot bind in between).
    WriteTxn txn(*this);
    Checkpoint cp;
    BARROT_TRY(read_checkpoint(&cp));
    DirBinding d;
    BARROT_TRY(read_dir_binding(options.snapshots_dir, &d));
    const Binding b = classify(cp, d);
    if (b == Binding::bound) {
      mirror_id = cp.mirror_id; // another process bound them meanwhile
      return Status::OK();
    }
    if (b == Binding::refused) {
      BARROT_TRY_ASSIGN(const bool adopt_it, adopts(*db, cp, options.adopt_mirror));
      if (!adopt_it) {
        return refusal(*this, cp, d);
      }
    }
    std::string id = d.mirror_id; // a half binding keeps the directory's
    if (b != Binding::half) {
      BARROT_TRY_ASSIGN(id, new_mirror_id());
      // The file first, and on disk (its folder's entry too) before the
      // database names it: a crash in between leaves a first binding that
      // the next open completes (Binding::half), an adoption that `mirror
      // --rebuild` repeats.
      util::UniqueFd state_dir;
      BARROT_TRY(util::open_dir(options.snapshots_dir + "/" + mirror::k_state_dir, &state_dir));
      BARROT_TRY(util::write_file_atomic(state_dir.get(),
                                         k_mirror_id_file,
                                         cp.store_id + " " + id + "\n",
                                         util::Overwrite::yes,
                                         util::FsyncMode::fsync));
    }
    SQLite::Statement st(*db, "UPDATE mirror_checkpoint SET mirror_id = ? WHERE id = 1");
    st.bind(1, id);
    st.exec();
    if (b == Binding::refused) {
      // A directory the checkpoint does not describe (adopted): the next
      // reconciliation checks every snapshot against it.
      rewind_checkpoint_in_txn(0);
    }
    txn.commit();
    mirror_id = id;
    return Status::OK();
  });
}

Status Store::mirror_binding() {
  if (m_impl->schema_version < 6) {
    return Status::OK(); // bound by the first write, which upgrades the schema
  }
  bool bind = false;
  Store::Impl::Checkpoint cp;
  return m_impl->check_mirror_binding(Adopt::no, &bind, &cp);
}

Status Store::Impl::check_bound_in_txn() {
  Checkpoint cp;
  BARROT_TRY(read_checkpoint(&cp));
  if (cp.mirror_id == mirror_id) {
    return Status::OK();
  }
  return Status::InvalidArgument("the store " + db_path + " was bound to another snapshots " +
                                 "directory than " + options.snapshots_dir +
                                 " while this process had it open (`barrot mirror --rebuild`): "
                                 "nothing was written");
}

} // namespace barrot
