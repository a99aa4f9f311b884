#pragma once
// The links between hosts: their conditions (scenario.hpp LinkConditions), the
// partitions and holds in force, and the draws that decide when a packet arrives and
// whether it is lost. It knows hosts by id and nothing of sockets or tasks.
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "netsim/clock.hpp"
#include "netsim/rng.hpp"
#include "netsim/scenario.hpp"

namespace netsim {

class Links {
 public:
  explicit Links(Rng& rng) : rng_(rng) {}

  // Conditions of every direction without its own (Scenario::defaults).
  void set_defaults(const LinkConditions& conditions);
  void set(int from, int to, const LinkConditions& conditions);
  const LinkConditions& conditions(int from, int to) const;

  // Nothing between the two hosts delays, loses or keeps a packet: it is delivered at
  // once. Always true without a scenario.
  bool perfect(int from, int to) const {
    return !active_ || (conditions(from, to).perfect() && !cut(from, to) && !held(from, to));
  }

  void cut_path(int from, int to) { cut_.insert({from, to}), active_ = true; }
  void heal_path(int from, int to) { cut_.erase({from, to}); }
  bool cut(int from, int to) const { return !cut_.empty() && cut_.contains({from, to}); }

  void hold_path(int from, int to) { held_.insert({from, to}), active_ = true; }
  bool held(int from, int to) const { return !held_.empty() && held_.contains({from, to}); }
  // Keeps `deliver` until the path is released (a held path only).
  void keep(int from, int to, std::function<void()> deliver);
  // Ends the hold; returns what it kept, in the order it came, to be sent again.
  std::vector<std::function<void()>> release_path(int from, int to);

  // When a packet of `bytes` sent now arrives: the delay with its jitter, after the
  // packets ahead of it on the link have been serialised at its rate.
  Nanos arrival(int from, int to, std::size_t bytes, Nanos now);
  // Deliveries are scheduler calls that hold what they deliver from (a stream's pipe,
  // transit.hpp) by address, so that setting one allocates nothing: the links keep it
  // alive until nothing else holds it and none of its deliveries (*pending) is left.
  void adopt(std::shared_ptr<const void> owner, const int* pending);

  // The latest arrival handed out so far: when the last of what is on the links arrives.
  Nanos last_arrival() const { return last_arrival_; }
  // Seeded draws with the link's probabilities.
  bool lose(int from, int to) { return draw(conditions(from, to).loss); }
  bool duplicate(int from, int to) { return draw(conditions(from, to).duplicate); }
  bool reorder(int from, int to) { return draw(conditions(from, to).reorder); }
  // True with probability p (no draw at 0 or 1: a certain outcome costs nothing and
  // shifts no later draw).
  bool draw(double p);

 private:
  using Path = std::pair<int, int>;
  Rng& rng_;
  bool active_ = false;  // any condition, cut or hold was ever set
  LinkConditions defaults_;
  std::map<Path, LinkConditions> conditions_;
  std::set<Path> cut_;
  std::set<Path> held_;
  std::map<Path, std::vector<std::function<void()>>> kept_;
  std::map<Path, Nanos> busy_until_;  // the rate's serialisation queue
  Nanos last_arrival_ = 0;
  struct Adopted {
    std::shared_ptr<const void> owner;
    const int* pending;
  };
  std::vector<Adopted> adopted_;
  std::size_t prune_at_ = 64;  // adopt() drops what is done once there are this many
};

}  // namespace netsim
