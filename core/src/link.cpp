#include "link.hpp"

#include <algorithm>
#include <utility>

namespace netsim {

void Links::set_defaults(const LinkConditions& conditions) {
  defaults_ = conditions;
  active_ = active_ || !conditions.perfect();
}

void Links::set(int from, int to, const LinkConditions& conditions) {
  conditions_[{from, to}] = conditions;
  active_ = active_ || !conditions.perfect();
}

const LinkConditions& Links::conditions(int from, int to) const {
  if (conditions_.empty()) return defaults_;
  const auto it = conditions_.find({from, to});
  return it == conditions_.end() ? defaults_ : it->second;
}

void Links::keep(int from, int to, std::function<void()> deliver) {
  kept_[{from, to}].push_back(std::move(deliver));
}

std::vector<std::function<void()>> Links::release_path(int from, int to) {
  held_.erase({from, to});
  std::vector<std::function<void()>> kept;
  if (const auto it = kept_.find({from, to}); it != kept_.end()) {
    kept = std::move(it->second);
    kept_.erase(it);
  }
  return kept;
}

Nanos Links::arrival(int from, int to, std::size_t bytes, Nanos now) {
  const LinkConditions& link = conditions(from, to);
  Nanos leaves = now;
  if (link.rate > 0) {
    // netem's rate: the packet waits for those ahead of it, then takes its own time
    // on the wire. Rounded up: a byte never crosses in no time.
    Nanos& busy = busy_until_[{from, to}];
    const auto bits = static_cast<unsigned __int128>(bytes) * 8 * kSecond;
    const auto wire = static_cast<Nanos>((bits + link.rate - 1) / link.rate);
    leaves = std::max(now, busy) + wire;
    busy = leaves;
  }
  Nanos delay = link.delay;
  if (link.jitter > 0) {
    const auto span = static_cast<std::uint64_t>(2 * link.jitter + 1);
    delay += static_cast<Nanos>(rng_.below(span)) - link.jitter;
  }
  const Nanos arrives = leaves + std::max<Nanos>(delay, 0);
  last_arrival_ = std::max(last_arrival_, arrives);
  return arrives;
}

void Links::adopt(std::shared_ptr<const void> owner, const int* pending) {
  if (adopted_.size() >= prune_at_) {
    std::erase_if(adopted_, [](const Adopted& it) { return it.owner.use_count() == 1 && *it.pending == 0; });
    prune_at_ = std::max<std::size_t>(64, 2 * adopted_.size());
  }
  adopted_.push_back({std::move(owner), pending});
}

bool Links::draw(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  // 53 bits: every double in [0, 1) a uniform draw can give.
  return static_cast<double>(rng_.next() >> 11) * 0x1p-53 < p;
}

}  // namespace netsim
