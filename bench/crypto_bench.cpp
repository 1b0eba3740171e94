// Crypto hot-path benchmarks: the field format against the raw AEAD it is
// built on, at the sizes tokens and prompts have, plus the key exchange.
//
// Baselines are the libraries called directly, as a program that knew
// nothing of the protocol would: libsodium's AES-256-GCM with a precomputed
// key state, and OpenSSL's EVP with one context reused for every message.
// The ratio table at the end divides each field operation's throughput by
// the faster raw AEAD's at the same size.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cipherline/crypto/aes256gcm.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/hpke.hpp"
#include "cipherline/crypto/oae.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/xwing.hpp"
#include "cipherline/protocol/field_cipher.hpp"
#include "ratio_reporter.hpp"

namespace cipherline {
namespace {

using crypto::Aes256Gcm;

constexpr std::int64_t kSizes[] = {16, 64, 256, 1024, 16384};
// Where the two AEAD implementations cross over (for Aes256Gcm::kOpenSslFrom).
constexpr std::int64_t kCrossoverSizes[] = {1024, 2048, 3072, 4096, 6144, 8192};

std::vector<std::byte> random_vector(std::size_t n) {
  std::vector<std::byte> v(n);
  crypto::random_bytes(v);
  return v;
}

void report(benchmark::State& state, std::size_t bytes) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}

unsigned char* u8(std::vector<std::byte>& v) { return reinterpret_cast<unsigned char*>(v.data()); }

// Raw libsodium ----------------------------------------------------------------

void BM_RawLibsodiumSeal(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  if (sodium_init() < 0 || crypto_aead_aes256gcm_is_available() == 0) {
    state.SkipWithError("libsodium AES-GCM unavailable");
    return;
  }
  auto key = random_vector(32), plain = random_vector(size), iv = random_vector(12),
       aad = random_vector(16), out = std::vector<std::byte>(size + 16);
  alignas(16) crypto_aead_aes256gcm_state st;
  crypto_aead_aes256gcm_beforenm(&st, u8(key));
  for (auto _ : state) {
    crypto_aead_aes256gcm_encrypt_afternm(u8(out), nullptr, u8(plain), size, u8(aad), aad.size(),
                                          nullptr, u8(iv), &st);
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

void BM_RawLibsodiumOpen(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  if (sodium_init() < 0 || crypto_aead_aes256gcm_is_available() == 0) {
    state.SkipWithError("libsodium AES-GCM unavailable");
    return;
  }
  auto key = random_vector(32), plain = random_vector(size), iv = random_vector(12),
       aad = random_vector(16), sealed = std::vector<std::byte>(size + 16),
       out = std::vector<std::byte>(size);
  alignas(16) crypto_aead_aes256gcm_state st;
  crypto_aead_aes256gcm_beforenm(&st, u8(key));
  crypto_aead_aes256gcm_encrypt_afternm(u8(sealed), nullptr, u8(plain), size, u8(aad), aad.size(),
                                        nullptr, u8(iv), &st);
  for (auto _ : state) {
    if (crypto_aead_aes256gcm_decrypt_afternm(u8(out), nullptr, nullptr, u8(sealed), sealed.size(),
                                              u8(aad), aad.size(), u8(iv), &st) != 0) {
      state.SkipWithError("decrypt failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

// Raw OpenSSL --------------------------------------------------------------------

struct RawOpenSsl {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx{EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free};
};

void BM_RawOpenSslSeal(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto key = random_vector(32), plain = random_vector(size), iv = random_vector(12),
       aad = random_vector(16), out = std::vector<std::byte>(size + 16);
  RawOpenSsl o;
  EVP_EncryptInit_ex(o.ctx.get(), EVP_aes_256_gcm(), nullptr, u8(key), nullptr);
  for (auto _ : state) {
    int len = 0;
    EVP_EncryptInit_ex(o.ctx.get(), nullptr, nullptr, nullptr, u8(iv));
    EVP_EncryptUpdate(o.ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size()));
    EVP_EncryptUpdate(o.ctx.get(), u8(out), &len, u8(plain), static_cast<int>(size));
    EVP_EncryptFinal_ex(o.ctx.get(), u8(out) + len, &len);
    EVP_CIPHER_CTX_ctrl(o.ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, u8(out) + size);
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

void BM_RawOpenSslOpen(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  auto key = random_vector(32), plain = random_vector(size), iv = random_vector(12),
       aad = random_vector(16), sealed = std::vector<std::byte>(size + 16),
       out = std::vector<std::byte>(size);
  Aes256Gcm(key).seal(sealed, plain, iv, aad);
  RawOpenSsl o;
  EVP_DecryptInit_ex(o.ctx.get(), EVP_aes_256_gcm(), nullptr, u8(key), nullptr);
  for (auto _ : state) {
    int len = 0;
    EVP_DecryptInit_ex(o.ctx.get(), nullptr, nullptr, nullptr, u8(iv));
    EVP_CIPHER_CTX_ctrl(o.ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, u8(sealed) + size);
    EVP_DecryptUpdate(o.ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size()));
    EVP_DecryptUpdate(o.ctx.get(), u8(out), &len, u8(sealed), static_cast<int>(size));
    if (EVP_DecryptFinal_ex(o.ctx.get(), u8(out) + len, &len) != 1) state.SkipWithError("bad tag");
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

// Aes256Gcm (the project's wrapper, automatic backend choice) ------------------

void BM_Aes256GcmSeal(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const Aes256Gcm aead(random_vector(32));
  auto plain = random_vector(size), iv = random_vector(12), aad = random_vector(16),
       out = std::vector<std::byte>(size + 16);
  for (auto _ : state) {
    aead.seal(out, plain, iv, aad);
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

// OAE streams (one message per SSE event) -----------------------------------------

void BM_OaeSeal(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  crypto::OaeSealer sealer(random_vector(32));
  const auto plain = random_vector(size);
  std::string out;
  out.reserve(size + crypto::kOaeOverhead);
  for (auto _ : state) {
    out.clear();
    if (!sealer.seal(plain, false, out)) state.SkipWithError("seal failed");
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

void BM_OaeOpen(benchmark::State& state) {
  // A stream opens each message once, in order: seal a run of them ahead
  // and start a new stream (untimed) when the run is used up.
  const auto size = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kRun = 4096;
  const auto key = random_vector(32);
  const auto plain = random_vector(size);
  std::vector<std::string> messages(kRun);
  crypto::OaeSealer sealer(key);
  for (auto& m : messages) (void)sealer.seal(plain, false, m);
  std::optional<crypto::OaeOpener> opener;
  opener.emplace(key);
  std::string out;
  out.reserve(size);
  std::size_t next = 0;
  for (auto _ : state) {
    if (next == kRun) {
      state.PauseTiming();
      opener.emplace(key);
      next = 0;
      state.ResumeTiming();
    }
    out.clear();
    if (!opener->open(messages[next++], out)) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

// The per-request cost of an OAE exchange on the client: the request salt,
// the PRK and both keys (three HKDF steps, two expanded AES keys).
void BM_OaeRequesterSetup(benchmark::State& state) {
  const auto secret = random_vector(32);
  crypto::OaeHeader response_salt{};
  for (auto _ : state) {
    crypto::OaeRequester requester(secret);
    auto opener = requester.accept_response(response_salt);
    benchmark::DoNotOptimize(opener);
  }
  state.SetItemsProcessed(state.iterations());
}

// Field format ---------------------------------------------------------------------

const std::string kSecretId(44, 'S');

void BM_SealField(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const Aes256Gcm aead(random_vector(32));
  const auto plain = random_vector(size);
  protocol::FieldNonce nonce;
  crypto::random_bytes(nonce);
  std::string out;
  out.reserve(protocol::sealed_field_size(kSecretId.size(), size));
  std::uint32_t seq = 0;
  for (auto _ : state) {
    out.clear();
    protocol::seal_field(aead, kSecretId, nonce, seq++, plain, out);
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

void BM_OpenField(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const Aes256Gcm aead(random_vector(32));
  const auto plain = random_vector(size);
  protocol::FieldNonce nonce;
  crypto::random_bytes(nonce);
  std::string field;
  protocol::seal_field(aead, kSecretId, nonce, 0, plain, field);
  std::string out;
  out.reserve(size + 16);
  for (auto _ : state) {
    out.clear();
    auto parsed = protocol::parse_field(field);
    if (!parsed || !protocol::open_field(aead, *parsed, nonce, 0, out)) {
      state.SkipWithError("open failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

void BM_HexEncode(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const auto in = random_vector(size);
  std::string out(2 * size, '\0');
  for (auto _ : state) {
    crypto::hex_encode(in, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

void BM_HexDecode(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const std::string hex = crypto::to_hex(random_vector(size));
  std::vector<std::byte> out(size);
  for (auto _ : state) {
    if (!crypto::hex_decode(hex, out)) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

void BM_RandomIv(benchmark::State& state) {
  std::array<std::byte, 12> iv;
  for (auto _ : state) {
    crypto::random_bytes(iv);
    benchmark::DoNotOptimize(iv.data());
  }
  report(state, iv.size());
}

void BM_GetrandomIv(benchmark::State& state) {
  std::array<std::byte, 12> iv;
  if (sodium_init() < 0) return;
  for (auto _ : state) {
    randombytes_buf(iv.data(), iv.size());  // one getrandom() per call
    benchmark::DoNotOptimize(iv.data());
  }
  report(state, iv.size());
}

// Key exchange -----------------------------------------------------------------------

void BM_XWingKeygen(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(crypto::xwing_generate());
  state.SetItemsProcessed(state.iterations());
}

void BM_XWingEncapsulate(benchmark::State& state) {
  const auto kp = crypto::xwing_generate();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::xwing_encapsulate(kp.public_key));
  state.SetItemsProcessed(state.iterations());
}

void BM_XWingDecapsulate(benchmark::State& state) {
  const auto kp = crypto::xwing_generate();
  const auto e = crypto::xwing_encapsulate(kp.public_key).value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::xwing_decapsulate(e.encapsulated_key, kp.seed.bytes()));
  }
  state.SetItemsProcessed(state.iterations());
}

// The whole client side of the key exchange after the network: decapsulate,
// key schedule, export the 32-byte key.
void BM_HpkeRecipientExport(benchmark::State& state) {
  const auto kp = crypto::xwing_generate();
  const auto sender = crypto::hpke_setup_sender(crypto::HpkeKem::xwing, kp.public_key, {}).value();
  for (auto _ : state) {
    auto ctx =
        crypto::hpke_setup_recipient(crypto::HpkeKem::xwing, sender.enc, kp.seed.bytes(), {});
    benchmark::DoNotOptimize(ctx->export_secret({}, 32));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_HpkeExport(benchmark::State& state) {
  const auto kp = crypto::xwing_generate();
  const auto sender = crypto::hpke_setup_sender(crypto::HpkeKem::xwing, kp.public_key, {}).value();
  for (auto _ : state) benchmark::DoNotOptimize(sender.context.export_secret({}, 32));
  state.SetItemsProcessed(state.iterations());
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t s : kSizes) b->Arg(s);
}

// The backend choice itself: Aes256Gcm forced to each implementation (the
// OpenSSL path includes the per-call context copy that keeps it thread-safe).
void BM_Aes256GcmSealBackend(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const auto backend =
      state.range(1) == 0 ? Aes256Gcm::Backend::libsodium : Aes256Gcm::Backend::openssl;
  if (backend == Aes256Gcm::Backend::libsodium && !Aes256Gcm::libsodium_available()) {
    state.SkipWithError("libsodium AES-GCM unavailable");
    return;
  }
  const Aes256Gcm aead(random_vector(32));
  auto plain = random_vector(size), iv = random_vector(12), aad = random_vector(16),
       out = std::vector<std::byte>(size + 16);
  for (auto _ : state) {
    aead.seal(out, plain, iv, aad, backend);
    benchmark::DoNotOptimize(out.data());
  }
  report(state, size);
}

void crossover(benchmark::internal::Benchmark* b) {
  for (std::int64_t s : kCrossoverSizes) {
    b->Args({s, 0});
    b->Args({s, 1});
  }
}
BENCHMARK(BM_Aes256GcmSealBackend)->Apply(crossover);

BENCHMARK(BM_RawLibsodiumSeal)->Apply(sizes);
BENCHMARK(BM_RawOpenSslSeal)->Apply(sizes);
BENCHMARK(BM_Aes256GcmSeal)->Apply(sizes);
BENCHMARK(BM_SealField)->Apply(sizes);
BENCHMARK(BM_RawLibsodiumOpen)->Apply(sizes);
BENCHMARK(BM_RawOpenSslOpen)->Apply(sizes);
BENCHMARK(BM_OpenField)->Apply(sizes);
// One SSE event of a chat stream is about 200 bytes.
BENCHMARK(BM_RawLibsodiumSeal)->Arg(200);
BENCHMARK(BM_RawLibsodiumOpen)->Arg(200);
BENCHMARK(BM_OaeSeal)->Arg(200);
BENCHMARK(BM_OaeOpen)->Arg(200);
BENCHMARK(BM_OaeRequesterSetup);
BENCHMARK(BM_HexEncode)->Arg(272);
BENCHMARK(BM_HexDecode)->Arg(272);
BENCHMARK(BM_RandomIv);
BENCHMARK(BM_GetrandomIv);
BENCHMARK(BM_XWingKeygen);
BENCHMARK(BM_XWingEncapsulate);
BENCHMARK(BM_XWingDecapsulate);
BENCHMARK(BM_HpkeRecipientExport);
BENCHMARK(BM_HpkeExport);

}  // namespace
}  // namespace cipherline

int main(int argc, char** argv) {
  std::vector<cipherline::bench::RatioPair> pairs;
  for (std::int64_t s : cipherline::kSizes) {
    const std::string n = std::to_string(s);
    pairs.push_back({"seal " + n + " B: seal_field / raw libsodium", "BM_SealField/" + n,
                     "BM_RawLibsodiumSeal/" + n});
    pairs.push_back({"seal " + n + " B: seal_field / raw OpenSSL", "BM_SealField/" + n,
                     "BM_RawOpenSslSeal/" + n});
    pairs.push_back({"open " + n + " B: open_field / raw libsodium", "BM_OpenField/" + n,
                     "BM_RawLibsodiumOpen/" + n});
    pairs.push_back({"open " + n + " B: open_field / raw OpenSSL", "BM_OpenField/" + n,
                     "BM_RawOpenSslOpen/" + n});
    pairs.push_back({"raw AEAD " + n + " B: libsodium / OpenSSL", "BM_RawLibsodiumSeal/" + n,
                     "BM_RawOpenSslSeal/" + n});
  }
  pairs.push_back(
      {"OAE seal 200 B event / raw libsodium", "BM_OaeSeal/200", "BM_RawLibsodiumSeal/200"});
  pairs.push_back(
      {"OAE open 200 B event / raw libsodium", "BM_OaeOpen/200", "BM_RawLibsodiumOpen/200"});
  for (std::int64_t s : cipherline::kCrossoverSizes) {
    const std::string n = std::to_string(s);
    pairs.push_back({"Aes256Gcm " + n + " B: libsodium / OpenSSL path",
                     "BM_Aes256GcmSealBackend/" + n + "/0", "BM_Aes256GcmSealBackend/" + n + "/1"});
  }
  return cipherline::bench::run_with_ratios(argc, argv, std::move(pairs));
}
