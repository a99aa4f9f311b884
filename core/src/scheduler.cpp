#include "netsim/scheduler.hpp"

#include <algorithm>
#include <utility>

#include "netsim/baton.hpp"

#include "netsim/errors.hpp"

namespace netsim {

Scheduler::Scheduler(Clock& clock, Rng& rng, Policy policy)
    : clock_(clock), rng_(rng), policy_(policy), home_(std::make_unique<Baton>()) {}

Scheduler::~Scheduler() = default;

void Scheduler::admit(Task& task) {
  task.scheduler_ = this;
  all_.push_back(&task);
  ++live_;
  make_ready(task);
}

void Scheduler::stage(Task& task) {
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

void Scheduler::at(Nanos deadline, std::function<void()> action) {
  actions_.push({deadline, ++timer_seq_, std::move(action)});
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
  if (policy_ != Policy::random) {
    Task* task = ready_.front();
    ready_.pop_front();
    return *task;
  }
  const auto index = static_cast<std::ptrdiff_t>(rng_.below(ready_.size()));
  Task* task = ready_[static_cast<std::size_t>(index)];
  ready_.erase(ready_.begin() + index);
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
  if (policy_ != Policy::random || ready_.empty()) return;
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

void Scheduler::fire_due_actions() {
  while (!actions_.empty() && actions_.top().deadline <= clock_.elapsed()) {
    // Moved out before it runs: the action may schedule others.
    std::function<void()> action = std::move(const_cast<Action&>(actions_.top()).run);
    actions_.pop();
    action();
  }
}

void Scheduler::fire_due_timers() {
  fire_due_actions();
  while (!timers_.empty() && timers_.top().deadline <= clock_.elapsed()) {
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
    if (!timers_.empty() || !actions_.empty()) {
      const Nanos next = timers_.empty()    ? actions_.top().deadline
                         : actions_.empty() ? timers_.top().deadline
                                            : std::min(timers_.top().deadline, actions_.top().deadline);
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
