#include "runner.hpp"

#include <fmt/format.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/read.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "netsim/errors.hpp"
#include "netsim/fiber_task.hpp"
#include "request.hpp"

namespace netsim::shim {
namespace {

// How long a wait for a child's request sleeps before simrun looks at its own events
// and at whether the child still lives.
constexpr long kPollNanos = 5'000'000;
// Virtual time a stopped process has to end after each signal.
constexpr Nanos kStopGrace = 5 * kSecond;
// Resumes the stopped tasks get to unwind.
constexpr std::size_t kUnwindTurns = 10'000;

constexpr idtype_t kPidfd = static_cast<idtype_t>(3);  // P_PIDFD

// How long each side of the channel polls before sleeping on the futex: some 15-25
// us, when the simulator and the children have CPUs of their own.
constexpr std::uint64_t kSpinCycles = 50'000;

// Through the pidfd: never a process that reused the pid of a child already reaped.
void send_signal(const RemoteProcess& remote, int signal) {
  syscall(SYS_pidfd_send_signal, remote.child.pidfd, signal, nullptr, 0);
}

std::uint64_t seed_for(std::uint64_t seed, int pid) {
  return seed * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(pid);
}

constexpr std::size_t kPoolSize = sizeof(Region) * kMaxProcesses;

// The status a dead process that is not simrun's child left (as waitpid encodes it),
// from its zombie's /proc/PID/stat: waitid cannot reach it.
std::optional<int> zombie_status(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t end = text.rfind(')');
  if (end == std::string::npos) return std::nullopt;
  // Fields after the name start with the 3rd (state); exit_code is the 52nd.
  std::istringstream fields(text.substr(end + 2));
  std::string field;
  for (int i = 3; i <= 52 && fields >> field; ++i)
    if (i == 52) return std::stoi(field);
  return std::nullopt;
}

}  // namespace

SavedSignals::SavedSignals() {
  sigaction(SIGINT, nullptr, &interrupt_);
  sigaction(SIGTERM, nullptr, &terminate_);
}

SavedSignals::~SavedSignals() {
  sigaction(SIGINT, &interrupt_, nullptr);
  sigaction(SIGTERM, &terminate_, nullptr);
}

Runner::Runner(Simulation& simulation, const RunOptions& options)
    : simulation_(simulation),
      options_(options),
      spin_cycles_(0),
      signals_(io_, SIGINT, SIGTERM),
      watchdog_(io_) {
  pool_fd_ = memfd_create("netsim-regions", MFD_CLOEXEC);
  if (pool_fd_ < 0 || ftruncate(pool_fd_, kPoolSize) != 0)
    throw std::runtime_error(std::string("cannot make the shim's regions: ") + strerror(errno));
  void* mapping = mmap(nullptr, kPoolSize, PROT_READ | PROT_WRITE, MAP_SHARED, pool_fd_, 0);
  if (mapping == MAP_FAILED) {
    close(pool_fd_);
    throw std::runtime_error(std::string("cannot map the shim's regions: ") + strerror(errno));
  }
  pool_ = static_cast<Region*>(mapping);
  // A forked process whose parent dies is reparented here rather than to init, so
  // that it is still ours to reap (and its pidfd still ours to kill).
  prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper_);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // With two CPUs or more, the simulator keeps the first and the children share the
  // others: each side can poll for the other's next step without holding it off, and
  // only one child thread is ever active, so they do not compete among themselves.
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) >= 2) {
    saved_cpus_ = allowed;
    cpu_set_t mine;
    CPU_ZERO(&mine);
    int first = 0;
    while (!CPU_ISSET(first, &allowed)) ++first;
    CPU_SET(first, &mine);
    CPU_CLR(first, &allowed);
    children_cpus_ = allowed;
    sched_setaffinity(0, sizeof mine, &mine);
    spin_cycles_ = kSpinCycles;
  }
  signals_.async_wait([this](const boost::system::error_code& error, int signal) {
    if (error) return;
    interrupted_ = true;
    abort(fmt::format("interrupted by {}", signal == SIGINT ? "SIGINT" : "SIGTERM"));
  });
  if (options.timeout_seconds) {
    watchdog_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(*options.timeout_seconds)));
    watchdog_.async_wait([this](const boost::system::error_code& error) {
      if (error) return;
      timed_out_ = true;
      const std::string who =
          running_ ? fmt::format("{} (pid {}) was running and had made no call netsim sees for a while "
                                 "(a busy loop?)",
                                 running_->process->name(), running_->process->pid())
                   : std::string("the simulation was still going");
      abort(fmt::format("--timeout {} s of wall-clock time reached: {}; stopped everything",
                        *options_.timeout_seconds, who));
    });
  }
}

Runner::~Runner() {
  if (saved_cpus_) sched_setaffinity(0, sizeof *saved_cpus_, &*saved_cpus_);
  for (auto& remote : processes_) send_signal(*remote, SIGKILL);
  for (auto& remote : processes_) {
    kill_now(*remote);
    remote->output.reset();
    release_child(remote->child);
  }
  munmap(pool_, kPoolSize);
  close(pool_fd_);
  prctl(PR_SET_CHILD_SUBREAPER, was_subreaper_);
}

int Runner::claim_region() {
  if (pool_used_ < kMaxProcesses) return pool_used_++;
  // A region is free again once its process has ended in the simulation and for real.
  for (auto& remote : processes_) {
    if (remote->region_index < 0 || !remote->process->exited()) continue;
    pollfd dead = {remote->child.pidfd, POLLIN, 0};
    if (remote->child.pidfd >= 0 && !remote->reaped_status && ::poll(&dead, 1, 0) <= 0) continue;
    return std::exchange(remote->region_index, -1);
  }
  return -1;
}

void Runner::fill_region(int index, const Process& process, int ppid, bool simulated_stdin) {
  Region& region = pool_[index];
  region.magic = kRegionMagic;
  region.version = kRegionVersion;
  region.pid = process.pid();
  region.ppid = ppid;
  region.started = 0;
  region.epoch = simulation_.kernel().clock().epoch();
  region.elapsed.store(simulation_.kernel().clock().elapsed(), std::memory_order_relaxed);
  region.seed = seed_for(options_.config.seed, process.pid());
  region.spin_cycles = spin_cycles_;
  region.simulated_stdin = simulated_stdin;
  region.sigchld = 0;
  memset(region.hostname, 0, sizeof region.hostname);
  fmt::format_to_n(region.hostname, sizeof region.hostname - 1, "{}", process.host().name);
  for (Slot& slot : region.slots) {
    slot.state.store(static_cast<std::uint32_t>(SlotState::idle), std::memory_order_relaxed);
    slot.signal = 0;
  }
}

RemoteProcess* Runner::find_remote(int pid) const {
  for (const auto& remote : processes_)
    if (remote->process->pid() == pid) return remote.get();
  return nullptr;
}

RemoteProcess& Runner::start(const Command& command) {
  auto remote = std::make_unique<RemoteProcess>();
  Process& process = simulation_.create_process(command.name);
  remote->process = &process;
  remote->base_name = command.name;
  if (command.input) simulation_.kernel().install_input(process, 0, *command.input);
  remote->region_index = claim_region();
  if (remote->region_index < 0) throw std::runtime_error("too many processes");
  fill_region(remote->region_index, process, 1, command.input.has_value());
  remote->region = &pool_[remote->region_index];
  remote->child = start_child({command.argv, options_.env, options_.shim_path, children_cpus_, pool_fd_,
                               remote->region_index, &sandbox_});
  remote->output =
      std::make_unique<boost::asio::posix::stream_descriptor>(io_, ::dup(remote->child.output_fd));
  RemoteProcess& added = *remote;
  processes_.push_back(std::move(remote));
  read_output(added);
  add_thread(added, 0, true);
  return added;
}

Task& Runner::add_thread(RemoteProcess& remote, int index, bool staged) {
  Kernel& kernel = simulation_.kernel();
  auto task = std::make_unique<FiberTask>(
      kernel.next_task_id(), *remote.process, remote.process->name(),
      [this, &remote, index](Task& self) { serve(remote, index, self); });
  Task& added = kernel.add_task(std::move(task), staged);
  remote.threads[index] = &added;
  return added;
}

void Runner::serve(RemoteProcess& remote, int index, Task& self) {
  Slot& slot = remote.region->slots[index];
  // The request being served, out of the child's reach (request.hpp); one per thread,
  // as a call that blocks keeps its own until its reply.
  const auto mine = std::make_unique<Slot>();
  Kernel& kernel = simulation_.kernel();
  for (;;) {
    if (!wait_request(remote, slot)) {
      lose(remote, self);
      return;
    }
    take_turn(slot);
    if (const std::string problem = take_request(slot, *mine); !problem.empty()) {
      serving_ = nullptr;
      remote.offender = true;
      kernel.emit_output(self, 2,
                         fmt::format("netsim: {} (pid {}) sent a malformed request on the shim channel ({}); "
                                     "stopped\n",
                                     remote.process->name(), remote.process->pid(), problem));
      lose(remote, self);
      return;
    }
    long result = 0;
    bool last = false;
    mine->signal = 0;
    try {
      result = serve_call(remote, index, self, *mine, last);
    } catch (const TaskInterrupted&) {
      result = -EINTR;
      mine->signal = static_cast<std::uint32_t>(remote.signal);
    } catch (const TaskCancelled&) {
      // The process ended while this thread waited: its real thread is ending too.
      take_turn(slot);
      serving_ = nullptr;
      remote.threads[index] = nullptr;
      return;
    }
    take_turn(slot);
    serving_ = nullptr;
    if (!mine->signal) mine->signal = static_cast<std::uint32_t>(std::exchange(remote.pending, 0));
    // An exec ended the thread while its call was under way: nobody waits for the reply.
    if (remote.threads[index] != &self && !last) return;
    mine->result = result;
    give_reply(*mine, slot);
    // The shim reads CLOCK_REALTIME as epoch + elapsed: the host's offset, drift and
    // jumps go into its epoch.
    remote.region->epoch = kernel.wall_clock(remote.process->host()) - kernel.clock().elapsed();
    remote.region->elapsed.store(kernel.clock().elapsed(), std::memory_order_relaxed);
    post(slot.state, SlotState::reply,
         [](auto* word) { syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0); });
    if (last) {
      remote.threads[index] = nullptr;
      return;
    }
  }
}

void Runner::take_turn(Slot& slot) {
  if (serving_ && serving_ != &slot) {
    auto expected = static_cast<std::uint32_t>(SlotState::request);
    serving_->state.compare_exchange_strong(expected, static_cast<std::uint32_t>(SlotState::parked));
  }
  serving_ = &slot;
}

bool Runner::wait_request(RemoteProcess& remote, Slot& slot) {
  const auto requested = [&] { return holds(slot.state.load(std::memory_order_acquire), SlotState::request); };
  running_ = &remote;
  // A child that keeps making calls never lets a wait time out: simrun's own events
  // (Ctrl-C, the watchdog) are looked at every few milliseconds all the same.
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_poll_) {
    next_poll_ = now + std::chrono::nanoseconds(kPollNanos);
    poll_events();
  }
  const std::uint32_t left = slot.state.load(std::memory_order_acquire);
  if (aborting_ || remote.reaped_status) return false;
  if (holds(left, SlotState::request)) return true;
  spin_while(slot.state, left, spin_cycles_);
  bool gone = false;
  sleep_until(
      slot.state, [&](std::uint32_t state) { return holds(state, SlotState::request) || gone; },
      [&](std::uint32_t expected) {
        const struct timespec timeout = {0, kPollNanos};
        syscall(SYS_futex, &slot.state, FUTEX_WAIT, expected, &timeout, nullptr, 0);
        if (requested()) return true;
        poll_events();
        reap(remote, false);
        gone = aborting_ || remote.reaped_status.has_value();
        return !gone;
      });
  return requested();
}

void Runner::lose(RemoteProcess& remote, Task& self) {
  for (Task*& thread : remote.threads)
    if (thread == &self) thread = nullptr;
  if (remote.process->exited()) return;
  if (!remote.reaped_status) kill_now(remote);
  drain_output(remote);
  Kernel& kernel = simulation_.kernel();
  // What the child wrote before the shim could forward it (the loader's errors).
  if (!remote.stray.empty()) kernel.emit_output(self, 2, std::exchange(remote.stray, {}));
  end(remote, *remote.reaped_status, remote.reaped_signal);
}

void Runner::kill_now(RemoteProcess& remote) {
  if (!remote.reaped_status && remote.child.pidfd < 0) {
    // Forked in the simulation, but its real fork never reported back.
    remote.reaped_signal = SIGKILL;
    remote.reaped_status = 128 + SIGKILL;
  }
  if (!remote.reaped_status) {
    send_signal(remote, SIGKILL);
    reap(remote, true);
  }
}

bool Runner::reap(RemoteProcess& remote, bool block) {
  if (remote.reaped_status) return true;
  if (remote.child.pidfd < 0) return false;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (remote.child.forked) {
    pollfd dead = {remote.child.pidfd, POLLIN, 0};
    if (::poll(&dead, 1, block ? -1 : 0) <= 0) return false;
    const int status = zombie_status(remote.child.pid).value_or(0);
    if (WIFSIGNALED(status)) {
      remote.reaped_signal = WTERMSIG(status);
      remote.reaped_status = 128 + remote.reaped_signal;
    } else {
      remote.reaped_status = WEXITSTATUS(status);
    }
    // Reparented here when its parent died first: then it is ours to reap.
    waitid(kPidfd, static_cast<id_t>(remote.child.pidfd), &info, WEXITED | WNOHANG);
    return true;
  }
  if (waitid(kPidfd, static_cast<id_t>(remote.child.pidfd), &info, WEXITED | (block ? 0 : WNOHANG)) != 0 ||
      info.si_pid == 0)
    return false;
  if (info.si_code == CLD_EXITED) {
    remote.reaped_status = info.si_status;
  } else {
    remote.reaped_signal = info.si_status;
    remote.reaped_status = 128 + info.si_status;
  }
  return true;
}

void Runner::read_output(RemoteProcess& remote) {
  remote.output->async_read_some(
      boost::asio::buffer(remote.output_buffer),
      [this, &remote](const boost::system::error_code& error, std::size_t size) {
        remote.stray.append(remote.output_buffer.data(), size);
        if (!error) read_output(remote);
      });
}

void Runner::drain_output(RemoteProcess& remote) {
  // The child is dead: its pipe holds all it will ever hold.
  char buffer[4096];
  for (;;) {
    pollfd ready = {remote.child.output_fd, POLLIN, 0};
    if (::poll(&ready, 1, 0) <= 0) return;
    const ssize_t size = ::read(remote.child.output_fd, buffer, sizeof buffer);
    if (size <= 0) return;
    remote.stray.append(buffer, static_cast<std::size_t>(size));
  }
}

void Runner::poll_events() {
  io_.restart();
  io_.poll();
}

void Runner::abort(std::string problem) {
  if (aborting_) return;
  aborting_ = true;
  problem_ = std::move(problem);
  for (auto& remote : processes_)
    if (!remote->reaped_status) send_signal(*remote, SIGKILL);
}

void Runner::stop(RemoteProcess& remote) {
  Scheduler& scheduler = simulation_.kernel().scheduler();
  const Clock& clock = simulation_.kernel().clock();
  for (const int signal : {SIGINT, SIGTERM}) {
    if (remote.process->exited() || aborting_) return;
    // Linux gives a process's signal to its main thread when it can take it.
    Task* target = nullptr;
    for (Task* task : remote.process->tasks())
      if (!target && task->state() != TaskState::done) target = task;
    if (!target) break;
    remote.signal = remote.stopped_by = signal;
    Event& event = simulation_.kernel().trace().record(EventKind::kill, clock.elapsed());
    event.pid = remote.process->pid();
    event.value = signal;
    scheduler.interrupt(*target);
    const Nanos deadline = clock.elapsed() + kStopGrace;
    scheduler.run([&] { return remote.process->exited() || aborting_ || clock.elapsed() >= deadline; });
  }
  if (remote.process->exited()) return;
  remote.stopped_by = SIGKILL;
  kill_now(remote);
  end(remote, *remote.reaped_status, remote.reaped_signal);
  scheduler.drain(kUnwindTurns);
}

void Runner::finish() {
  Kernel& kernel = simulation_.kernel();
  for (std::size_t i = 0; i < processes_.size(); ++i) {
    RemoteProcess& remote = *processes_[i];
    if (remote.process->exited()) continue;
    kill_now(remote);
    kernel.exit_process(*remote.process, *remote.reaped_status, remote.reaped_signal);
  }
  kernel.scheduler().drain(kUnwindTurns);
  for (auto& remote : processes_) {
    // Exited in the simulation; its real exit follows at once.
    reap(*remote, true);
  }
  // Forked processes orphaned here: every one is dead now, so they are all reparented.
  for (auto& remote : processes_) {
    siginfo_t info;
    if (remote->child.forked && remote->child.pidfd >= 0)
      waitid(kPidfd, static_cast<id_t>(remote->child.pidfd), &info, WEXITED | WNOHANG);
  }
}

}  // namespace netsim::shim
