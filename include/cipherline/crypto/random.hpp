// random_bytes: fast cryptographically secure random bytes.
//
// Every AES-GCM message needs a fresh 12-byte IV, and a getrandom() system
// call per IV costs more than encrypting a 256-byte field. So each thread
// runs its own generator: ChaCha20 (libsodium) keyed from the operating
// system's CSPRNG, with fast key erasure (each 512-byte keystream block
// rekeys the generator with its first 32 bytes, and bytes handed out are
// wiped from the buffer), so that a later compromise of the process reveals
// neither past outputs nor past keys.
//
// Contract: thread-safe (per-thread state, no locks); reseeded from the OS
// in a child process after fork(); never fails (aborts if the OS has no
// entropy source, as libsodium does).
#pragma once

#include <cstddef>
#include <span>

namespace cipherline::crypto {

void random_bytes(std::span<std::byte> out) noexcept;

}  // namespace cipherline::crypto
