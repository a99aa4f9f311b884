#include "netsim/rng.hpp"

namespace netsim {
namespace {

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(std::uint64_t seed) {
  // splitmix64 spreads any seed, 0 included, over a non-zero xoshiro state.
  for (auto& word : state_) word = splitmix64(seed);
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

std::uint64_t Rng::below(std::uint64_t bound) {
  // Reject the top partial block so every value in [0, bound) is equally likely.
  const std::uint64_t limit = -bound % bound;  // == 2^64 mod bound
  for (;;) {
    const std::uint64_t x = next();
    if (x >= limit) return x % bound;
  }
}

void Rng::fill(void* out, std::size_t size) {
  auto* bytes = static_cast<unsigned char*>(out);
  while (size > 0) {
    // Least significant byte first, spelled out rather than copied from memory, so
    // the bytes are the same on big-endian hosts too.
    const std::uint64_t word = next();
    const std::size_t n = size < sizeof word ? size : sizeof word;
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>(word >> (8 * i));
    bytes += n;
    size -= n;
  }
}

}  // namespace netsim
