#include "netsim/scheduler.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <utility>

#include "netsim/baton.hpp"

#include "netsim/errors.hpp"

namespace netsim {

Scheduler::Scheduler(Clock& clock, Rng& rng, Policy policy, Pct pct, std::span<const Deviation> schedule)
    : clock_(clock), rng_(rng), policy_(policy), home_(std::make_unique<Baton>()) {
  if (policy_ == Policy::schedule)
    for (const Deviation& d : schedule) plan_.emplace(d.point, d.task);
  if (policy_ != Policy::pct) return;
  if (pct.depth < 1 || pct.horizon < 1)
    throw std::invalid_argument("PCT takes a depth and a horizon of 1 or more");
  next_low_priority_ = static_cast<std::uint64_t>(pct.depth - 1);
  for (int i = 1; i < pct.depth; ++i) change_points_.push_back(1 + rng_.below(pct.horizon));
  std::sort(change_points_.begin(), change_points_.end(), std::greater<>());
}

Scheduler::~Scheduler() = default;

void Scheduler::prioritise(Task& task) {
  // Above the d-1 priorities that change points give, distinct but for a chance of
  // one in 2^62 per pair (then the lower id wins).
  if (policy_ == Policy::pct) task.priority_ = next_low_priority_ + 1 + rng_.below(std::uint64_t{1} << 62);
}

bool Scheduler::outranks(const Task& a, const Task& b) {
  return a.priority_ != b.priority_ ? a.priority_ > b.priority_ : a.id() < b.id();
}

void Scheduler::count_choice_point(Task& self) {
  ++choice_points_;
  while (!change_points_.empty() && change_points_.back() <= choice_points_) {
    change_points_.pop_back();
    self.priority_ = next_low_priority_--;
  }
}

void Scheduler::admit(Task& task) {
  prioritise(task);
  task.scheduler_ = this;
  all_.push_back(&task);
  ++live_;
  make_ready(task);
}

void Scheduler::stage(Task& task) {
  prioritise(task);
  task.scheduler_ = this;
  all_.push_back(&task);
  ++live_;
  task.state_ = TaskState::staged;
  staged_.push_back(&task);
}

void Scheduler::make_ready(Task& task) {
  task.state_ = TaskState::ready;
  if (task.paused_) {
    paused_ready_.push_back(&task);
  } else {
    ready_.push_back(&task);
  }
}

void Scheduler::pause(Task& task) {
  if (task.paused_ || task.state_ == TaskState::done) return;
  task.paused_ = true;
  if (task.state_ != TaskState::ready) return;
  if (const auto it = std::find(ready_.begin(), ready_.end(), &task); it != ready_.end()) {
    ready_.erase(it);
    paused_ready_.push_back(&task);
  }
}

void Scheduler::resume(Task& task) {
  if (!task.paused_) return;
  task.paused_ = false;
  if (const auto it = std::find(paused_ready_.begin(), paused_ready_.end(), &task);
      it != paused_ready_.end()) {
    paused_ready_.erase(it);
    ready_.push_back(&task);
  }
}

Task& Scheduler::pick() {
  // What run-until-block runs: the task that yielded (it would not have), else the
  // first ready. (A paused yielder is not in the queue: then the first ready.)
  Task* passed = ready_.front();
  if (Task* yielder = std::exchange(yielder_, nullptr);
      yielder && std::find(ready_.begin(), ready_.end(), yielder) != ready_.end())
    passed = yielder;
  const bool choice = ready_.size() >= 2;
  if (choice) ++decision_points_;
  Task* task = passed;
  if (policy_ == Policy::random) {
    task = ready_[rng_.below(ready_.size())];
  } else if (policy_ == Policy::pct) {
    task = *std::min_element(ready_.begin(), ready_.end(),
                             [](const Task* a, const Task* b) { return outranks(*a, *b); });
  } else if (policy_ == Policy::schedule && choice) {
    if (const auto planned = plan_.find(decision_points_); planned != plan_.end())
      for (Task* ready : ready_)
        if (ready->id() == planned->second) task = ready;
  }
  ready_.erase(std::find(ready_.begin(), ready_.end(), task));
  if (task != passed && on_deviation_) on_deviation_({decision_points_, task->id()}, *task, *passed);
  return *task;
}

void Scheduler::switch_away(Task& self) {
  self.suspend();
  // Back on this task's context: a stop requested meanwhile unwinds it, once.
  if (self.cancel_ && !self.cancel_delivered_) {
    self.cancel_delivered_ = true;
    throw TaskCancelled{};
  }
  take_interrupt(self);
}

void Scheduler::take_interrupt(Task& self) {
  if (!self.interrupt_) return;
  self.interrupt_ = false;
  throw TaskInterrupted{};
}

bool Scheduler::block(Task& self, Wait wait, std::span<WaitQueue* const> queues,
                      std::optional<Nanos> deadline) {
  if (self.cancel_) {
    if (self.cancel_delivered_) return false;
    self.cancel_delivered_ = true;
    throw TaskCancelled{};
  }
  take_interrupt(self);
  self.wait_ = wait;
  self.timed_out_ = false;
  ++self.wait_generation_;
  for (WaitQueue* queue : queues) {
    queue->waiting_.push_back(&self);
    self.queues_.push_back(queue);
  }
  if (deadline) timers_.push({*deadline, ++timer_seq_, &self, self.wait_generation_});
  self.state_ = TaskState::blocked;
  fruitless_polls_ = 0;
  switch_away(self);
  return !self.timed_out_;
}

void Scheduler::yield_point(Task& self) {
  if (policy_ == Policy::run_until_block || ready_.empty()) return;
  if (policy_ == Policy::pct) count_choice_point(self);
  // Every other policy goes through run()'s loop here, even to go on with this task:
  // a run's deviations replayed (Policy::schedule) then fire the same timers at the
  // same points as the run they come from, whichever policy took them.
  yielder_ = &self;
  make_ready(self);
  switch_away(self);
}

void Scheduler::spin(Task& self) {
  // A task that keeps polling for work counts as waiting: the next staged task may
  // start, and when nobody else can run, time moves on so that its timers still
  // fire. A single fruitless poll does not: event loops poll with a zero timeout
  // between callbacks, and that must neither start other processes early nor move
  // the clock.
  if (ready_.empty() && !draining_ && ++fruitless_polls_ >= kPollsBeforeIdle) {
    if (!staged_.empty()) {
      make_ready(*staged_.front());
      staged_.pop_front();
    } else {
      clock_.advance_to(clock_.elapsed() + kSpinQuantum);
    }
  }
  // Under PCT a poller of high priority would be picked again and again while the
  // task it waits for never runs: it drops below every other, as at a change point.
  if (policy_ == Policy::pct) self.priority_ = 0;
  make_ready(self);
  switch_away(self);
}

void Scheduler::cancel(Task& task) {
  if (task.state_ == TaskState::done || task.cancel_) return;
  // A stopped process is still ended: it must run to unwind.
  resume(task);
  task.cancel_ = true;
  if (task.state_ == TaskState::staged) {
    staged_.erase(std::find(staged_.begin(), staged_.end(), &task));
    task.state_ = TaskState::done;
    --live_;
  } else if (task.state_ == TaskState::blocked) {
    wake(task, true);
  }
}

void Scheduler::interrupt(Task& task) {
  if (task.state_ == TaskState::done) return;
  task.interrupt_ = true;
  wake(task, true);
}

Scheduler::CallKey Scheduler::call_at(Nanos deadline, std::function<void()> fn) {
  return call_at(deadline, functions_, functions_.add(std::move(fn)));
}

Scheduler::CallKey Scheduler::call_at(Nanos deadline, Alarm& alarm, std::uint64_t tag) {
  const CallKey key{deadline, ++timer_seq_};
  calls_.push_back({key, &alarm, tag});
  std::push_heap(calls_.begin(), calls_.end(), later);
  return key;
}

std::uint64_t Scheduler::Functions::add(std::function<void()> fn) {
  if (free_.empty()) {
    slots_.push_back(std::move(fn));
    return slots_.size() - 1;
  }
  const std::uint64_t slot = free_.back();
  free_.pop_back();
  slots_[slot] = std::move(fn);
  return slot;
}

void Scheduler::Functions::ring(std::uint64_t slot) {
  // Taken out first: the function may set calls of its own, or forget them all.
  const std::function<void()> fn = std::move(slots_[slot]);
  drop(slot);
  fn();
}

void Scheduler::Functions::drop(std::uint64_t slot) {
  slots_[slot] = nullptr;
  free_.push_back(slot);
}

void Scheduler::Functions::clear() {
  slots_.clear();
  free_.clear();
}

void Scheduler::prune_calls() {
  while (!cancelled_.empty()) {
    const CallKey cancelled = *cancelled_.begin();
    if (!calls_.empty() && calls_.front().key == cancelled) {
      std::pop_heap(calls_.begin(), calls_.end(), later);
      if (calls_.back().alarm == &functions_) functions_.drop(calls_.back().tag);
      calls_.pop_back();
    } else if (!calls_.empty() && calls_.front().key < cancelled) {
      break;  // the next call is not cancelled
    }
    // Either dropped now, or earlier than every pending call: it has run already.
    cancelled_.erase(cancelled_.begin());
  }
}

void Scheduler::fire_due_timers() {
  // Task timers and calls in one order: deadline, then the order they were set.
  for (;;) {
    prune_calls();
    const bool timer_due = !timers_.empty() && timers_.top().deadline <= clock_.elapsed();
    const bool call_due = !calls_.empty() && calls_.front().key.first <= clock_.elapsed();
    if (!timer_due && !call_due) return;
    if (call_due && (!timer_due || calls_.front().key < CallKey{timers_.top().deadline, timers_.top().seq})) {
      std::pop_heap(calls_.begin(), calls_.end(), later);
      const Call call = calls_.back();
      calls_.pop_back();
      call.alarm->ring(call.tag);
      continue;
    }
    const Timer timer = timers_.top();
    timers_.pop();
    if (timer.task->wait_generation_ == timer.generation) wake(*timer.task, true);
  }
}

void Scheduler::start_turn(Task& task) {
  task.state_ = TaskState::running;
  current_ = &task;
}

void Scheduler::finish_turn(Task& task) {
  current_ = nullptr;
  if (task.state_ == TaskState::done) --live_;
}

void Scheduler::run_one() {
  Task& task = deferred_ ? *std::exchange(deferred_, nullptr) : pick();
  start_turn(task);
  task.resume();
  // A task with a direct baton ends its own turn (end_turn), and so does every task
  // it handed the turn on to before control came back here.
  if (!task.direct_baton()) finish_turn(task);
}

Task* Scheduler::end_turn(Task& self) {
  finish_turn(self);
  // The same steps, in the same order, as run()'s loop: the decisions, and so the
  // run, do not depend on which thread takes them.
  if (draining_ || !until_ || (*until_)()) return nullptr;
  fire_due_timers();
  if (ready_.empty()) return nullptr;
  Task& next = pick();
  if (!next.direct_baton()) {
    deferred_ = &next;
    return nullptr;
  }
  start_turn(next);
  return &next;
}

void Scheduler::drain(std::size_t turns) {
  draining_ = true;
  fire_due_timers();
  while (!ready_.empty() && turns-- > 0) run_one();
  draining_ = false;
}

Scheduler::Stop Scheduler::run(const std::function<bool()>& until) {
  until_ = &until;
  const Stop stop = loop(until);
  until_ = nullptr;
  return stop;
}

Scheduler::Stop Scheduler::loop(const std::function<bool()>& until) {
  for (;;) {
    if (until()) return Stop::condition;
    fire_due_timers();
    if (deferred_ || !ready_.empty()) {
      run_one();
      continue;
    }
    if (!staged_.empty()) {
      make_ready(*staged_.front());
      staged_.pop_front();
      continue;
    }
    // Timers of tasks woken some other way are stale: they must not move the clock.
    while (!timers_.empty() &&
           (timers_.top().task->state_ != TaskState::blocked ||
            timers_.top().task->wait_generation_ != timers_.top().generation))
      timers_.pop();
    prune_calls();
    const bool calls = live_ > 0 && !calls_.empty();
    if (!timers_.empty() || calls) {
      Nanos next = calls ? calls_.front().key.first : timers_.top().deadline;
      if (!timers_.empty() && timers_.top().deadline < next) next = timers_.top().deadline;
      clock_.advance_to(next);
      continue;
    }
    return live_ == 0 ? Stop::idle : Stop::deadlock;
  }
}

std::vector<const Task*> Scheduler::blocked_tasks() const {
  std::vector<const Task*> blocked;
  for (const Task* task : all_)
    if (task->state_ == TaskState::blocked) blocked.push_back(task);
  std::sort(blocked.begin(), blocked.end(),
            [](const Task* a, const Task* b) { return a->id() < b->id(); });
  return blocked;
}

}  // namespace netsim
