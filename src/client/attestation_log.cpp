#include "cipherline/client/attestation_log.hpp"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <set>

#include "cipherline/client/error.hpp"
#include "cipherline/client/rfc3339.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/json/writer.hpp"

#ifndef CIPHERLINE_VERSION
#define CIPHERLINE_VERSION "unknown"
#endif

namespace cipherline::client {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kCaptureFile = "capture.json";

Error log_error(std::string message) { return Error(errc::bad_configuration, std::move(message)); }

// Files of the log are read and written without following symbolic links,
// and only regular files are read, up to kMaxFileSize: a workspace or a
// capture handed over by someone else cannot make the reader hang (a FIFO),
// exhaust memory (/dev/zero) or read a file elsewhere.
constexpr std::size_t kMaxFileSize = 64 << 20;

// Why a file could not be read: "missing", "a symbolic link", ….
struct ReadFailure {
  std::string why;
};

Result<std::string, ReadFailure> read_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return ReadFailure{errno == ENOENT  ? "missing"
                       : errno == ELOOP ? "a symbolic link"
                                        : std::strerror(errno)};
  }
  const auto done = [fd](Result<std::string, ReadFailure> r) {
    ::close(fd);
    return r;
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return done(ReadFailure{std::strerror(errno)});
  if (!S_ISREG(st.st_mode)) return done(ReadFailure{"not a regular file"});
  if (static_cast<std::uint64_t>(st.st_size) > kMaxFileSize) {
    return done(ReadFailure{"larger than " + std::to_string(kMaxFileSize >> 20) + " MiB"});
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const auto n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return done(ReadFailure{std::strerror(errno)});
    if (n == 0) break;  // shrank while read
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return done(std::move(text));
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

enum class Sync { now, later };

// write_file writes a file (never through a symbolic link), synced unless
// `sync` is later; `flags` adds O_EXCL or O_APPEND to O_TRUNC's place.
bool write_file(const fs::path& path, std::string_view bytes, int flags = O_TRUNC,
                Sync sync = Sync::now) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | flags, 0600);
  if (fd < 0) return false;
  const bool ok = write_all(fd, bytes) && (sync == Sync::later || ::fdatasync(fd) == 0);
  return ::close(fd) == 0 && ok;
}

// sync_dir makes a directory's entries (a rename, a new file) durable;
// with `whole_filesystem`, everything written to its file system too (one
// journal commit for a capture's files instead of one per file).
bool sync_dir(const fs::path& dir, bool whole_filesystem = false) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = (whole_filesystem ? ::syncfs(fd) : ::fsync(fd)) == 0;
  ::close(fd);
  return ok;
}

std::string_view text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::vector<std::byte> bytes_of(std::string_view text) {
  const auto b = std::as_bytes(std::span(text));
  return {b.begin(), b.end()};
}

std::string sha256_hex(std::string_view bytes) {
  return crypto::to_hex(crypto::sha256(std::as_bytes(std::span(bytes))));
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  for (std::size_t at = 0; at <= line.size();) {
    const auto end = std::min(line.find(' ', at), line.size());
    fields.push_back(line.substr(at, end - at));
    at = end + 1;
  }
  return fields;
}

bool is_hex_digest(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_number(std::string_view s) {
  return !s.empty() && s.size() < 16 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// parse_line parses one index line; the error names the field.
Result<IndexLine, Error> parse_line(std::string_view text, std::size_t number,
                                    const fs::path& log) {
  const auto bad = [&](std::string why) {
    return log_error(log.string() + ": line " + std::to_string(number) + ": " + why);
  };
  IndexLine line;
  line.number = number;
  line.text = std::string(text);
  const auto f = fields_of(text);
  if (f.size() < 4) return bad("has " + std::to_string(f.size()) + " fields, expected 4 to 6");
  if (!parse_rfc3339(f[0])) return bad("the time '" + std::string(f[0]) + "' is not RFC 3339");
  if (!is_hex_digest(f[1])) return bad("the previous line's hash is not 64 hex digits");
  line.time = std::string(f[0]);
  line.previous = std::string(f[1]);
  if (f[2] == "pruned") {
    if (f.size() != 5 || !is_number(f[3]) || !is_hex_digest(f[4])) {
      return bad("a pruned line is '<time> <prev> pruned <line> <capture id>'");
    }
    line.type = IndexLine::Type::pruned;
    line.pruned_line = std::stoul(std::string(f[3]));
    line.capture_id = std::string(f[4]);
    return line;
  }
  if (!is_hex_digest(f[2])) return bad("the manifest hash is not 64 hex digits");
  const auto file = f[3];
  if (!file.ends_with(".json") || !is_number(file.substr(0, file.size() - 5))) {
    return bad("names the manifest file '" + std::string(file) + "', not <n>.json");
  }
  line.manifest_sha256 = std::string(f[2]);
  line.manifest_file = std::string(file);
  if (f.size() == 4) return line;
  if (f.size() != 6 || !is_hex_digest(f[4]) || (f[5] != "accepted" && f[5] != "rejected")) {
    return bad(
        "an attestation line is '<time> <prev> <manifest> <n>.json <capture id> "
        "accepted|rejected'");
  }
  line.type = IndexLine::Type::attestation;
  line.capture_id = std::string(f[4]);
  line.verdict = std::string(f[5]);
  return line;
}

// parse_index parses lines numbered from `first`.
Result<Index, Error> parse_index(std::string_view text, const fs::path& log,
                                 std::size_t first = 1) {
  Index index;
  index.head = sha256_hex("");
  for (std::size_t at = 0; at < text.size();) {
    const auto end = text.find('\n', at);
    if (end == std::string_view::npos) {
      return log_error(log.string() + ": the last line is unfinished (no newline)");
    }
    auto line = parse_line(text.substr(at, end - at), first + index.lines.size(), log);
    if (!line) return line.error();
    index.head = sha256_hex(line->text);
    index.lines.push_back(std::move(*line));
    at = end + 1;
  }
  return index;
}

void policy_json(json::JsonWriter& w, const CapturePolicy& p) {
  w.begin_object()
      .key("development_root")
      .string(p.development_root)
      .key("tdx_allow_missing_crls")
      .boolean(p.tdx_allow_missing_crls)
      .key("tdx_allow_unsigned_collateral")
      .boolean(p.tdx_allow_unsigned_collateral)
      .key("tdx_quote_only")
      .boolean(p.tdx_quote_only)
      .key("amd_require_crl")
      .boolean(p.amd_require_crl)
      .key("amd_crl_fail_open")
      .boolean(p.amd_crl_fail_open)
      .end_object();
}

std::string exchange_json(const ExchangeTranscript& e) {
  json::JsonWriter w;
  w.begin_object()
      .key("public_key")
      .string(crypto::to_base64(e.public_key))
      .key("secret_id")
      .string(protocol::secret_id_for(e.public_key))
      .key("encapsulated_key")
      .string(crypto::to_base64(e.response.encapsulated_key))
      .key("signature")
      .string(crypto::to_base64(e.response.signature))
      .key("mesh_certificate")
      .string(crypto::to_base64(e.response.mesh_certificate))
      .key("accepted")
      .boolean(e.error.empty())
      .key("error")
      .string(e.error)
      .end_object();
  return w.take();
}

// The lock on the log: this process's writers, then other processes'.
class LogLock {
 public:
  explicit LogLock(const fs::path& file) {
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0) error_ = std::strerror(errno);
  }
  ~LogLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  LogLock(const LogLock&) = delete;
  LogLock& operator=(const LogLock&) = delete;
  const std::string& error() const noexcept { return error_; }

 private:
  int fd_ = -1;
  std::string error_;
};

std::mutex& process_lock() {
  static std::mutex m;
  return m;
}

}  // namespace

std::string_view capture_kind_name(CaptureKind kind) noexcept {
  switch (kind) {
    case CaptureKind::coordinator:
      return "coordinator";
    case CaptureKind::snp_report:
      return "snp-report";
    case CaptureKind::tdx_quote:
      return "tdx-quote";
  }
  return "unknown";
}

namespace {

// A capture the index names and has not pruned.
struct LiveCapture {
  std::size_t line = 0;
  std::string id;
  bool accepted = false;
  std::uint64_t bytes = 0;  // on disk
};

// disk_use: the bytes of the regular files under `dir` (links not followed).
std::uint64_t disk_use(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    std::error_code size_ec;
    if (entry.is_regular_file(size_ec) && !entry.is_symlink(size_ec)) {
      total += entry.file_size(size_ec);
    }
  }
  return total;
}

}  // namespace

// What a record() verified: the log's bytes up to `size` (their SHA-256)
// and what they say.
struct AttestationLog::Chain {
  std::size_t size = 0;
  std::string digest;  // SHA-256 of the first `size` bytes
  std::size_t lines = 0;
  std::string previous;          // hash of the last line
  std::deque<LiveCapture> live;  // captured lines not pruned, oldest first
};

AttestationLog::AttestationLog(fs::path dir, AttestationLogOptions options)
    : dir_(std::move(dir)), options_(options) {}

Result<std::string, Error> AttestationLog::record(const Capture& capture) {
  const bool accepted = capture.report != nullptr && capture.report->passed();
  if (!options_.capture && !accepted) return std::string();
  const auto manifests = dir_ / "manifests";
  const auto captures = dir_ / "captures";
  std::error_code ec;
  for (const auto& d : {manifests, captures}) {
    if (fs::is_symlink(d, ec)) {
      return log_error("manifest log: " + d.string() +
                       " is a symbolic link; the log is kept in real directories only");
    }
  }
  fs::create_directories(manifests, ec);
  if (!ec && options_.capture) fs::create_directories(captures, ec);
  if (ec) return log_error("manifest log: " + dir_.string() + ": " + ec.message());

  const std::lock_guard in_process(process_lock());
  const std::lock_guard self(mutex_);
  const LogLock lock(manifests / "log.lock");
  if (!lock.error().empty()) {
    return log_error("manifest log: locking " + (manifests / "log.lock").string() + ": " +
                     lock.error());
  }
  const auto log = manifests / "log.txt";
  std::string existing;
  if (auto text = read_file(log)) {
    existing = std::move(*text);
  } else if (text.error().why != "missing") {
    return log_error("manifest log: " + log.string() + ": " + text.error().why);
  }
  // A last line without its newline is an append that a crash cut short:
  // it never happened.
  if (!existing.empty() && existing.back() != '\n') {
    const auto cut = existing.rfind('\n');
    existing.resize(cut == std::string::npos ? 0 : cut + 1);
    if (::truncate(log.c_str(), static_cast<off_t>(existing.size())) != 0) {
      return log_error("manifest log: " + log.string() +
                       ": removing an unfinished last line: " + std::strerror(errno));
    }
  }

  // Check the chain before extending it: all of it, or only what was
  // appended since this object last checked it.
  auto chain = std::make_shared<Chain>();
  chain->previous = sha256_hex("");
  std::size_t from = 0;
  if (checked_ && existing.size() >= checked_->size &&
      sha256_hex(std::string_view(existing).substr(0, checked_->size)) == checked_->digest) {
    *chain = *checked_;
    from = checked_->size;
  }
  {
    auto tail = parse_index(std::string_view(existing).substr(from), log, chain->lines + 1);
    if (!tail) return Error(tail.error().code(), "manifest log: " + tail.error().message());
    // Lines pruned later may have no manifest file any more.
    std::set<std::size_t> pruned;
    for (const auto& line : tail->lines) {
      if (line.type == IndexLine::Type::pruned) pruned.insert(line.pruned_line);
    }
    for (const auto& line : tail->lines) {
      const auto broken = [&](const std::string& why) {
        return log_error("manifest log: " + log.string() + ": line " + std::to_string(line.number) +
                         " " + why);
      };
      if (line.previous != chain->previous) {
        return broken("does not chain to the line before it (edited, removed or inserted lines)");
      }
      if (line.type != IndexLine::Type::pruned &&
          line.manifest_file != std::to_string(line.number) + ".json") {
        return broken("names the manifest file " + line.manifest_file + " (moved lines)");
      }
      if (line.type == IndexLine::Type::pruned) {
        const auto it = std::find_if(chain->live.begin(), chain->live.end(),
                                     [&](const auto& l) { return l.line == line.pruned_line; });
        if (it == chain->live.end() || it->id != line.capture_id) {
          return broken("prunes a line that is not a live capture");
        }
        chain->live.erase(it);
      } else {
        if (line.type == IndexLine::Type::attestation) {
          chain->live.push_back({line.number, line.capture_id, line.verdict == "accepted",
                                 disk_use(captures / line.capture_id)});
        }
        const auto stored = read_file(manifests / line.manifest_file);
        if (!pruned.contains(line.number) &&
            (!stored || sha256_hex(*stored) != line.manifest_sha256)) {
          return broken("names a manifest file that is missing or was changed");
        }
      }
      chain->previous = sha256_hex(line.text);
    }
    chain->lines += tail->lines.size();
  }
  // What a crash left behind: a capture staged or renamed but never
  // indexed, or pruned but not yet removed.
  if (fs::is_directory(captures, ec)) {
    std::set<std::string_view> live;
    for (const auto& c : chain->live) live.insert(c.id);
    for (const auto& entry : fs::directory_iterator(captures, ec)) {
      if (!live.contains(entry.path().filename().string())) {
        std::error_code remove_ec;
        fs::remove_all(entry.path(), remove_ec);
      }
    }
  }

  const std::size_t number = chain->lines + 1;
  const std::string_view manifest = text_of(capture.manifest);
  const std::string time = format_rfc3339(capture.judged_at);
  std::string line = time + " " + chain->previous + " " + sha256_hex(manifest) + " " +
                     std::to_string(number) + ".json";
  std::string id;
  std::uint64_t bytes = 0;
  if (options_.capture) {
    // The capture first, under a temporary name, renamed once complete and
    // durable: an index line never names a capture a crash could lose.
    std::array<std::byte, 8> tag;
    crypto::random_bytes(tag);
    const auto staging = captures / (".staging-" + crypto::to_hex(tag));
    fs::create_directory(staging, ec);
    if (!ec) fs::create_directory(staging / "collateral", ec);
    if (ec) return log_error("capture: " + staging.string() + ": " + ec.message());
    std::map<std::string, std::string> files;  // path in the capture → SHA-256
    const auto put = [&](const std::string& path, std::string_view content) {
      files[path] = sha256_hex(content);
      bytes += content.size();
      return write_file(staging / path, content, O_EXCL, Sync::later);
    };
    bool ok = put("manifest.json", manifest);
    for (const auto& f : capture.evidence) ok = ok && put(f.name, text_of(f.bytes));
    for (const auto& f : capture.collateral) {
      ok = ok && put("collateral/" + f.name, text_of(f.bytes));
    }
    if (capture.report) ok = ok && put("report.json", capture.report->to_json());
    if (capture.exchange) ok = ok && put("exchange.json", exchange_json(*capture.exchange));
    json::JsonWriter w;
    w.begin_object()
        .key("format")
        .string(kCaptureFormat)
        .key("kind")
        .string(capture_kind_name(capture.kind))
        .key("cipherline_version")
        .string(CIPHERLINE_VERSION)
        .key("captured_at")
        .string(time)
        .key("endpoint")
        .string(capture.endpoint)
        .key("nonce")
        .string(crypto::to_hex(capture.nonce))
        .key("report_data")
        .string(capture.report_data ? crypto::to_hex(*capture.report_data) : "")
        .key("verdict")
        .string(accepted ? "accepted" : "rejected")
        .key("index")
        .begin_object()
        .key("line")
        .number(number)
        .key("previous")
        .string(chain->previous)
        .end_object()
        .key("policy");
    policy_json(w, capture.policy);
    w.key("files").begin_object();
    for (const auto& [path, digest] : files) w.key(path).string(digest);
    w.end_object().end_object();
    const std::string descriptor = w.take();
    ok = ok && put(std::string(kCaptureFile), descriptor);
    ok = ok && sync_dir(staging, /*whole_filesystem=*/true);
    id = sha256_hex(descriptor);
    if (ok) fs::rename(staging, captures / id, ec);
    if (!ok || ec || !sync_dir(captures)) {
      fs::remove_all(staging, ec);
      return log_error("capture: cannot write " + (captures / id).string() + ": " +
                       (ec ? ec.message() : std::strerror(errno)));
    }
    line += " " + id + (accepted ? " accepted" : " rejected");
  }
  if (!write_file(manifests / (std::to_string(number) + ".json"), manifest)) {
    return log_error("manifest log: " + (manifests / std::to_string(number)).string() +
                     ".json: cannot write: " + std::strerror(errno));
  }
  std::string appended = line + "\n";
  chain->previous = sha256_hex(line);
  chain->lines = number;
  if (options_.capture) chain->live.push_back({number, id, accepted, bytes});
  // Bounded disk use: captures go, each leaving a line, until at most
  // `keep` and `keep_bytes` remain (the newest always stays). Rejected
  // attestations go first, oldest first: a backend that fails attestation
  // over and over cannot push the evidence of accepted ones out.
  std::uint64_t total = 0;
  for (const auto& c : chain->live) total += c.bytes;
  std::vector<LiveCapture> gone;
  while (chain->live.size() > 1 &&
         (chain->live.size() > options_.keep || total > options_.keep_bytes)) {
    auto victim = std::find_if(chain->live.begin(), chain->live.end() - 1,
                               [](const LiveCapture& c) { return !c.accepted; });
    if (victim == chain->live.end() - 1) victim = chain->live.begin();
    const std::string prune = format_rfc3339(std::chrono::system_clock::now()) + " " +
                              chain->previous + " pruned " + std::to_string(victim->line) + " " +
                              victim->id;
    appended += prune + "\n";
    chain->previous = sha256_hex(prune);
    ++chain->lines;
    total -= victim->bytes;
    gone.push_back(std::move(*victim));
    chain->live.erase(victim);
  }
  const bool new_log = existing.empty();
  if (!sync_dir(manifests) || !write_file(log, appended, O_APPEND) ||
      (new_log && !sync_dir(manifests))) {
    return log_error("manifest log: " + log.string() + ": cannot append: " + std::strerror(errno));
  }
  // Removed only once the lines that prune them are durable.
  for (const auto& c : gone) {
    fs::remove_all(captures / c.id, ec);
    fs::remove(manifests / (std::to_string(c.line) + ".json"), ec);
  }
  chain->size = existing.size() + appended.size();
  chain->digest = sha256_hex(existing + appended);
  checked_ = std::move(chain);
  return id;
}

Result<Index, Error> read_index(const fs::path& dir) {
  const auto log = dir / "manifests" / "log.txt";
  const auto text = read_file(log);
  if (!text) return log_error(log.string() + ": cannot be read: " + text.error().why);
  return parse_index(*text, log);
}

void check_index(const fs::path& dir, const Index& index, attest::VerificationReport& r) {
  std::string previous = sha256_hex("");
  std::map<std::size_t, std::string> live;  // captured line → ID
  std::set<std::size_t> pruned;
  for (const auto& line : index.lines) {
    if (line.type == IndexLine::Type::pruned) pruned.insert(line.pruned_line);
  }
  for (const auto& line : index.lines) {
    const std::string name = "index line " + std::to_string(line.number);
    r.check(
        name + " chains",
        "SHA-256 of line " + std::to_string(line.number - 1) + " " + previous.substr(0, 16) + "…",
        line.previous.substr(0, 16) + "…", line.previous == previous);
    previous = sha256_hex(line.text);
    if (line.type == IndexLine::Type::pruned) {
      const auto it = live.find(line.pruned_line);
      const bool names_capture =
          it != live.end() && it->second == line.capture_id && line.pruned_line < line.number;
      r.check(name + " prunes", "an earlier live capture",
              "line " + std::to_string(line.pruned_line) + " capture " +
                  line.capture_id.substr(0, 16) + "…",
              names_capture);
      if (names_capture) live.erase(it);
      continue;
    }
    if (line.type == IndexLine::Type::attestation) live[line.number] = line.capture_id;
    r.check_equal(name + " numbered", std::to_string(line.number) + ".json", line.manifest_file);
    if (pruned.contains(line.number)) continue;
    const auto stored = read_file(dir / "manifests" / line.manifest_file);
    r.check(name + " manifest file", line.manifest_file + " with SHA-256 " + line.manifest_sha256,
            !stored ? stored.error().why : "SHA-256 " + sha256_hex(*stored),
            stored && sha256_hex(*stored) == line.manifest_sha256);
  }
  // As --anchor takes it: the last line's number and SHA-256.
  r.claim("index head", std::to_string(index.lines.size()) + ":" + index.head);
}

const attest::EvidenceFile* StoredCapture::file(std::string_view path) const noexcept {
  for (const auto& f : files) {
    if (f.name == path) return &f;
  }
  return nullptr;
}

Result<StoredCapture, Error> read_capture(const fs::path& dir, const std::string& id,
                                          attest::VerificationReport& r) {
  const auto root = dir / "captures" / id;
  const auto descriptor_path = root / kCaptureFile;
  StoredCapture out;
  out.id = id;
  const auto descriptor = read_file(descriptor_path);
  if (!r.check("capture present", "captures/" + id + "/" + std::string(kCaptureFile),
               descriptor ? "present" : descriptor.error().why, descriptor.has_value())) {
    return out;
  }
  if (!r.check_equal("capture ID", id, sha256_hex(*descriptor))) return out;
  const auto bad = [&](std::string field) {
    return log_error(descriptor_path.string() + ": " + field);
  };
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(*descriptor).get(doc) != simdjson::SUCCESS) return bad("not valid JSON");
  const auto text = [&](simdjson::dom::element e, const char* key,
                        std::string& into) -> Result<void, Error> {
    std::string_view v;
    if (e[key].get_string().get(v) != simdjson::SUCCESS) {
      return bad(std::string("\"") + key + "\" is missing or not a string");
    }
    into = std::string(v);
    return {};
  };
  const auto flag = [&](simdjson::dom::element e, const char* key,
                        bool& into) -> Result<void, Error> {
    if (e[key].get_bool().get(into) != simdjson::SUCCESS) {
      return bad(std::string("\"policy\": \"") + key + "\" is missing or not a boolean");
    }
    return {};
  };
  std::string format, kind, nonce_hex, report_data_hex;
  for (auto [key, into] : {std::pair{"format", &format},
                           {"kind", &kind},
                           {"cipherline_version", &out.version},
                           {"captured_at", &out.captured_at},
                           {"endpoint", &out.endpoint},
                           {"nonce", &nonce_hex},
                           {"report_data", &report_data_hex},
                           {"verdict", &out.verdict}}) {
    if (auto ok = text(doc, key, *into); !ok) return ok.error();
  }
  if (format != kCaptureFormat) {
    return bad("\"format\" is '" + format + "', expected " + std::string(kCaptureFormat));
  }
  bool known = false;
  for (auto k : {CaptureKind::coordinator, CaptureKind::snp_report, CaptureKind::tdx_quote}) {
    if (kind == capture_kind_name(k)) {
      out.kind = k;
      known = true;
    }
  }
  if (!known) return bad("\"kind\" '" + kind + "' is not one this version knows");
  const auto at = parse_rfc3339(out.captured_at);
  if (!at) return bad("\"captured_at\" is not an RFC 3339 time");
  out.judged_at = *at;
  auto nonce = crypto::from_hex(nonce_hex);
  auto report_data = crypto::from_hex(report_data_hex);
  if (!nonce || !report_data) return bad("\"nonce\" or \"report_data\" is not hex");
  out.nonce = std::move(*nonce);
  if (!report_data->empty()) out.report_data = std::move(*report_data);
  if (out.verdict != "accepted" && out.verdict != "rejected") {
    return bad("\"verdict\" is neither accepted nor rejected");
  }
  simdjson::dom::element index, policy;
  std::uint64_t line = 0;
  if (doc["index"].get(index) != simdjson::SUCCESS ||
      index["line"].get_uint64().get(line) != simdjson::SUCCESS) {
    return bad("\"index\": \"line\" is missing or not a number");
  }
  out.line = line;
  if (auto ok = text(index, "previous", out.previous); !ok) return ok.error();
  if (doc["policy"].get(policy) != simdjson::SUCCESS) return bad("\"policy\" is missing");
  if (auto ok = text(policy, "development_root", out.policy.development_root); !ok) {
    return ok.error();
  }
  for (auto [key, into] :
       {std::pair{"tdx_allow_missing_crls", &out.policy.tdx_allow_missing_crls},
        {"tdx_allow_unsigned_collateral", &out.policy.tdx_allow_unsigned_collateral},
        {"tdx_quote_only", &out.policy.tdx_quote_only},
        {"amd_require_crl", &out.policy.amd_require_crl},
        {"amd_crl_fail_open", &out.policy.amd_crl_fail_open}}) {
    if (auto ok = flag(policy, key, *into); !ok) return ok.error();
  }
  simdjson::dom::object files;
  if (doc["files"].get(files) != simdjson::SUCCESS) return bad("\"files\" is not an object");
  std::set<std::string> listed{std::string(kCaptureFile)};
  for (auto [key, value] : files) {
    std::string_view digest;
    const std::string path(key);
    if (value.get_string().get(digest) != simdjson::SUCCESS || !is_hex_digest(digest)) {
      return bad("\"files\": \"" + path + "\" is not a SHA-256");
    }
    // Paths stay inside the capture: plain names, one collateral/ level.
    const auto name = path.starts_with("collateral/") ? path.substr(11) : path;
    if (name.empty() || name.find('/') != std::string::npos || name.starts_with(".")) {
      return bad("\"files\": '" + path + "' is not a file of the capture");
    }
    listed.insert(path);
    const auto bytes = read_file(root / path);
    r.check("file " + path, "SHA-256 " + std::string(digest),
            bytes ? "SHA-256 " + sha256_hex(*bytes) : bytes.error().why,
            bytes && sha256_hex(*bytes) == digest);
    out.files.push_back({path, bytes ? bytes_of(*bytes) : std::vector<std::byte>{}});
  }
  // Nothing the descriptor does not vouch for.
  std::string extra;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
    std::error_code type_ec;
    if (entry.is_directory(type_ec) && !entry.is_symlink(type_ec)) continue;
    const auto relative = fs::relative(entry.path(), root).generic_string();
    if (!listed.contains(relative)) extra += (extra.empty() ? "" : ", ") + relative;
  }
  r.check("no unlisted files", "only the files capture.json lists", extra.empty() ? "none" : extra,
          extra.empty());
  return out;
}

}  // namespace cipherline::client
