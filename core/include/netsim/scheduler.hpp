#pragma once
// The seeded cooperative scheduler: picks which task runs next, keeps the timers and
// moves virtual time. All of its choices come from the simulation's Rng.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <vector>

#include "netsim/clock.hpp"
#include "netsim/rng.hpp"
#include "netsim/task.hpp"

namespace netsim {

enum class Policy : std::uint8_t {
  // FIFO: a task runs until it blocks. The natural reading of a program.
  run_until_block,
  // At every scheduling point (each kernel call, each block) a seeded choice among the
  // tasks that can run, to explore other interleavings of a racy program.
  random,
};

// A polling loop that finds nothing to do lets virtual time move on by this much when
// no other task can run, so timers still fire...
inline constexpr Nanos kSpinQuantum = kMicrosecond;
// ...once it has polled this many times in a row with no task blocking in between.
inline constexpr int kPollsBeforeIdle = 64;

class Scheduler {
 public:
  Scheduler(Clock& clock, Rng& rng, Policy policy);
  ~Scheduler();

  Policy policy() const { return policy_; }
  Task* current() const { return current_; }

  // Ready to run now.
  void admit(Task& task);
  // Starts once every task admitted or started before it is blocked or done.
  void stage(Task& task);

  // --- called on the running task's own context ---
  // Blocks until one of the queues is notified (true) or the deadline, in elapsed
  // virtual time, passes (false). The first block after cancel() throws TaskCancelled;
  // later ones return false at once so a stopping task can still clean up.
  bool block(Task& self, Wait wait, std::span<WaitQueue* const> queues,
             std::optional<Nanos> deadline);
  // A scheduling point that does not block: the random policy may switch here.
  void yield_point(Task& self);
  // The call found nothing to do (EAGAIN, zero-timeout poll): others run first; when
  // nobody else can and the polling goes on (kPollsBeforeIdle), the next staged task
  // starts or virtual time moves on by kSpinQuantum.
  void spin(Task& self);

  // Runs `action` on the scheduler's side (no task current) once virtual time reaches
  // `deadline`: how the network delivers what is in flight and faults fire. Actions
  // due at the same time run in the order they were scheduled, before the tasks'
  // timers of that time; pending actions keep time moving like timers do.
  void at(Nanos deadline, std::function<void()> action);
  // Drops every pending action: the run is over, nothing more is delivered or fires.
  void forget_actions() { actions_ = {}; }

  // SIGSTOP / SIGCONT: a paused task is not run; when it becomes ready it waits until
  // it is resumed. It can still be woken, cancelled or interrupted.
  void pause(Task& task);
  void resume(Task& task);

  // Stops a task: a blocked one wakes with TaskCancelled; one never started ends.
  void cancel(Task& task);
  // Ends the task's current or next block with TaskInterrupted, once: how a signal
  // reaches a task of a shimmed process. Unlike cancel(), later blocks block.
  void interrupt(Task& task);

  enum class Stop : std::uint8_t { condition, idle, deadlock };
  // Runs until `until` holds (checked between tasks), until no task is left (idle),
  // or until every task is blocked with no timer pending (deadlock).
  Stop run(const std::function<bool()>& until);

  // Lets the tasks that can run go on until every one has blocked, without starting
  // staged tasks or moving the clock, for at most `turns` resumes: what processes
  // still do between the last one's exit and their stop (a server reading the
  // client's EOF).
  void drain(std::size_t turns);

  // --- for task kinds with a direct_baton() ---
  // Ends the calling task's turn and takes the decision run() would take next, on the
  // calling thread: the task to run now (marked running; it may be the caller), or
  // null when the decision is run()'s (the run ends, a staged task starts, time
  // moves, draining, or the next task has no direct baton: run() resumes it first).
  Task* end_turn(Task& self);
  // Where run()'s thread waits while tasks with direct batons pass turns around.
  Baton& home() { return *home_; }

  // Blocked tasks in id order: what the deadlock report lists.
  std::vector<const Task*> blocked_tasks() const;
  std::size_t live_tasks() const { return live_; }

 private:
  friend class WaitQueue;
  struct Timer {
    Nanos deadline;
    std::uint64_t seq;
    Task* task;
    std::uint64_t generation;
    bool operator>(const Timer& other) const {
      return deadline != other.deadline ? deadline > other.deadline : seq > other.seq;
    }
  };

  struct Action {
    Nanos deadline;
    std::uint64_t seq;
    std::function<void()> run;
    bool operator>(const Action& other) const {
      return deadline != other.deadline ? deadline > other.deadline : seq > other.seq;
    }
  };

  void wake(Task& task, bool timed_out);
  void fire_due_actions();
  Stop loop(const std::function<bool()>& until);
  void run_one();
  void start_turn(Task& task);
  void finish_turn(Task& task);
  void make_ready(Task& task);
  Task& pick();
  void fire_due_timers();
  void switch_away(Task& self);
  void take_interrupt(Task& self);

  Clock& clock_;
  Rng& rng_;
  Policy policy_;
  Task* current_ = nullptr;
  std::deque<Task*> ready_;
  std::deque<Task*> staged_;
  std::vector<Task*> all_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::uint64_t timer_seq_ = 0;
  std::priority_queue<Action, std::vector<Action>, std::greater<Action>> actions_;
  std::vector<Task*> paused_ready_;  // paused tasks that became ready, in that order
  int fruitless_polls_ = 0;  // spins since a task last blocked
  bool draining_ = false;
  const std::function<bool()>* until_ = nullptr;  // run()'s condition, while it runs
  Task* deferred_ = nullptr;  // picked by end_turn() for run() to resume
  std::unique_ptr<Baton> home_;
  std::size_t live_ = 0;
};

}  // namespace netsim
