// The built-in NVIDIA Device Identity CA (private to attest/nvgpu).
#pragma once

namespace cipherline::attest::nvgpu::internal {

// PEM text of the NVIDIA Device Identity CA certificate.
extern const char kNvidiaDeviceIdentityCaPem[];

}  // namespace cipherline::attest::nvgpu::internal
