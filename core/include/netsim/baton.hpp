#pragma once
// A turn that one OS thread waits for and another gives. Only the simulation's
// running task holds a turn, so exactly one thread runs at a time.
#include <condition_variable>
#include <mutex>

namespace netsim {

class Baton {
 public:
  void give() {
    std::lock_guard lock(mutex_);
    turn_ = true;
    given_.notify_one();
  }
  // Returns once the turn is given; a turn given before take() is not lost.
  void take() {
    std::unique_lock lock(mutex_);
    given_.wait(lock, [&] { return turn_; });
    turn_ = false;
  }

 private:
  std::mutex mutex_;
  std::condition_variable given_;
  bool turn_ = false;
};

}  // namespace netsim
