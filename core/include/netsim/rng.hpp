#pragma once
// The simulation's only source of randomness. Same seed, same numbers, on every
// platform: the generator (xoshiro256**) and the range reduction are our own, so no
// standard-library distribution can change the draws between toolchains.
#include <cstddef>
#include <cstdint>

namespace netsim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  std::uint64_t next();
  // Uniform in [0, bound); bound must be positive. Rejection sampling, not modulo,
  // so small ranges are not biased.
  std::uint64_t below(std::uint64_t bound);
  void fill(void* out, std::size_t size);

 private:
  std::uint64_t state_[4];
};

}  // namespace netsim
