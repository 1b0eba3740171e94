#include "cipherline/crypto/ecdsa_recovery.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include <memory>

#include "cipherline/crypto/error.hpp"

namespace cipherline::crypto {
namespace {

struct Free {
  void operator()(BIGNUM* p) const noexcept { BN_free(p); }
  void operator()(BN_CTX* p) const noexcept { BN_CTX_free(p); }
  void operator()(EC_GROUP* p) const noexcept { EC_GROUP_free(p); }
  void operator()(EC_POINT* p) const noexcept { EC_POINT_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, Free>;

Owned<BIGNUM> to_bn(std::span<const std::byte> big_endian) {
  return Owned<BIGNUM>(BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
                                 static_cast<int>(big_endian.size()), nullptr));
}

}  // namespace

Result<std::vector<std::vector<std::byte>>, Error> recover_ecdsa_public_keys(
    Curve curve, std::span<const std::byte> digest, std::span<const std::byte> r_bytes,
    std::span<const std::byte> s_bytes) {
  const Owned<EC_GROUP> group(
      EC_GROUP_new_by_curve_name(curve == Curve::p384 ? NID_secp384r1 : NID_X9_62_prime256v1));
  const Owned<BN_CTX> ctx(BN_CTX_new());
  const BIGNUM* n = EC_GROUP_get0_order(group.get());
  const int order_bits = BN_num_bits(n);
  const std::size_t coordinate = static_cast<std::size_t>((order_bits + 7) / 8);

  const Owned<BIGNUM> r = to_bn(r_bytes);
  const Owned<BIGNUM> s = to_bn(s_bytes);
  if (BN_is_zero(r.get()) || BN_is_zero(s.get()) || BN_cmp(r.get(), n) >= 0 ||
      BN_cmp(s.get(), n) >= 0) {
    return Error(errc::invalid_length, "ECDSA recovery: r and s must lie in [1, n-1]");
  }
  // z: the leftmost order-length bits of the digest, reduced mod n.
  const Owned<BIGNUM> z = to_bn(digest);
  const int excess = static_cast<int>(digest.size() * 8) - order_bits;
  if (excess > 0) BN_rshift(z.get(), z.get(), excess);
  // Q = r⁻¹·(s·R − z·G) = u1·G + u2·R with u1 = −z·r⁻¹, u2 = s·r⁻¹ (mod n):
  // one double-scalar multiplication per candidate.
  const Owned<BIGNUM> r_inverse(BN_mod_inverse(nullptr, r.get(), n, ctx.get()));
  const Owned<BIGNUM> u1(BN_new());
  const Owned<BIGNUM> u2(BN_new());
  BN_mod_mul(u1.get(), z.get(), r_inverse.get(), n, ctx.get());
  BN_mod_sub(u1.get(), n, u1.get(), n, ctx.get());
  BN_mod_mul(u2.get(), s.get(), r_inverse.get(), n, ctx.get());

  std::vector<std::vector<std::byte>> keys;
  for (int y_bit = 0; y_bit <= 1; ++y_bit) {
    const Owned<EC_POINT> big_r(EC_POINT_new(group.get()));
    if (EC_POINT_set_compressed_coordinates(group.get(), big_r.get(), r.get(), y_bit, ctx.get()) !=
        1) {
      continue;  // r is not an x-coordinate on the curve
    }
    const Owned<EC_POINT> q(EC_POINT_new(group.get()));
    if (EC_POINT_mul(group.get(), q.get(), u1.get(), big_r.get(), u2.get(), ctx.get()) != 1 ||
        EC_POINT_is_at_infinity(group.get(), q.get()) == 1) {
      continue;
    }
    const Owned<BIGNUM> x(BN_new());
    const Owned<BIGNUM> y(BN_new());
    EC_POINT_get_affine_coordinates(group.get(), q.get(), x.get(), y.get(), ctx.get());
    std::vector<std::byte> xy(2 * coordinate);
    BN_bn2binpad(x.get(), reinterpret_cast<unsigned char*>(xy.data()),
                 static_cast<int>(coordinate));
    BN_bn2binpad(y.get(), reinterpret_cast<unsigned char*>(xy.data() + coordinate),
                 static_cast<int>(coordinate));
    keys.push_back(std::move(xy));
  }
  return keys;
}

}  // namespace cipherline::crypto
