// Entry points of the `cipherline` subcommands. Each takes the arguments after
// its command words and returns the process exit status: 0 on success, 1 when
// the work failed, 2 on a usage error (UsageError, printed by main).
#pragma once

#include <span>
#include <string_view>

namespace cipherline::cli {

int bench_echo(std::span<const std::string_view> args);
int bench_http_serve(std::span<const std::string_view> args);
int bench_sse(std::span<const std::string_view> args);

int crypto_seal_field(std::span<const std::string_view> args);
int crypto_open_field(std::span<const std::string_view> args);
int crypto_oae_seal(std::span<const std::string_view> args);
int crypto_oae_open(std::span<const std::string_view> args);
int crypto_xwing_keygen(std::span<const std::string_view> args);
int crypto_hpke_encap(std::span<const std::string_view> args);
int crypto_hpke_decap(std::span<const std::string_view> args);
int crypto_secret_id(std::span<const std::string_view> args);

int backend(std::span<const std::string_view> args);
int batch(std::span<const std::string_view> args);
int proxy(std::span<const std::string_view> args);

int verify_snp(std::span<const std::string_view> args);
int verify_tdx(std::span<const std::string_view> args);
int verify_gpu(std::span<const std::string_view> args);
int verify_coordinator(std::span<const std::string_view> args);
int verify_capture(std::span<const std::string_view> args);

}  // namespace cipherline::cli
