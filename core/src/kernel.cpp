#include "netsim/kernel.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <stdexcept>

#include <fmt/format.h>

#include "datagram.hpp"
#include "epoll.hpp"
#include "eventfd.hpp"
#include "events.hpp"
#include "faults.hpp"
#include "link.hpp"
#include "net.hpp"
#include "stream.hpp"
#include "unix.hpp"

namespace netsim {

namespace {
// Mixed into the schedule's seed: any fixed odd constant would do.
constexpr std::uint64_t kScheduleStream = 0x9e3779b97f4a7c15ULL;
// And this into the seed of links and faults.
constexpr std::uint64_t kFaultStream = 0xd1b54a32d192ed03ULL;
}  // namespace

Kernel::Kernel(const Config& config)
    : config_(config),
      clock_(config.epoch),
      rng_(config.seed),
      // Another stream than rng_'s even when both come from `seed`.
      schedule_rng_(config.schedule_seed.value_or(config.seed) ^ kScheduleStream),
      // A sweep of schedule seeds varies the network's draws too (jitter, loss, faults
      // with a probability): each schedule seed, one interleaving and one weather.
      fault_rng_(config.schedule_seed.value_or(config.seed) ^ kFaultStream),
      trace_(config.trace_payload),
      scheduler_(clock_, schedule_rng_, config.policy, config.pct, config.schedule) {
  // Each decision another than run-until-block's is in the trace, among the calls it
  // reordered: what a schedule is replayed and shrunk from (Policy::schedule).
  scheduler_.on_deviation([this](const Deviation& deviation, const Task& ran, const Task& passed) {
    Event& event = trace_.record(EventKind::schedule, clock_.elapsed());
    event.pid = ran.process().pid();
    event.task = ran.id();
    event.value = static_cast<std::int64_t>(deviation.point);
    event.passed = passed.id();
  });
  // The default host needs an address of its own besides loopback: a named host it
  // connects to must see, and be able to answer, a real source address.
  hosts_.push_back(std::make_unique<Host>(
      Host{0, "localhost", {*Ip::parse(kDefaultHostIpv4), *Ip::parse(kDefaultHostIpv6)}}));
  net_ = std::make_unique<Net>(rng_, hosts_);
  links_ = std::make_unique<Links>(fault_rng_);
  faults_ = std::make_unique<Faults>(*this);
}

Kernel::~Kernel() = default;

Host& Kernel::add_host(std::string name, std::vector<Ip> addresses) {
  for (const auto& host : hosts_) {
    if (host->name == name) throw std::invalid_argument("a host named '" + name + "' exists already");
    for (const Ip& ip : addresses)
      if (std::find(host->addresses.begin(), host->addresses.end(), ip.unmapped()) !=
          host->addresses.end())
        throw std::invalid_argument("address " + ip.str() + " belongs to host '" + host->name + "'");
  }
  for (Ip& ip : addresses) {
    ip = ip.unmapped();
    if (ip.is_any() || ip.is_loopback())
      throw std::invalid_argument("host '" + name + "': " + ip.str() +
                                  " cannot be a host address (every host has its own loopback)");
  }
  const int id = static_cast<int>(hosts_.size());
  hosts_.push_back(std::make_unique<Host>(Host{id, std::move(name), std::move(addresses)}));
  return *hosts_.back();
}

std::vector<Ip> Kernel::resolve(std::string_view name) const {
  if (const std::optional<Ip> literal = Ip::parse(name)) return {*literal};
  if (name == "localhost") return {Ip::loopback(Family::inet), Ip::loopback(Family::inet6)};
  for (const auto& host : hosts_)
    if (host->name == name) return host->addresses;
  return {};
}

Resolution Kernel::resolve(Task& self, std::string_view name) {
  begin_call(self);
  if (const int error = faults_->resolve_error(self, name)) return {error, {}};
  std::vector<Ip> found = resolve(name);
  if (found.empty()) {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower != name) found = resolve(lower);
  }
  if (found.empty()) return {EAI_NONAME, {}};
  return {0, std::move(found)};
}

void Kernel::pause_process(Process& process) {
  for (Task* task : process.tasks_) scheduler_.pause(*task);
  if (control_) control_->paused(process);
}

void Kernel::resume_process(Process& process) {
  for (Task* task : process.tasks_) scheduler_.resume(*task);
  if (control_) control_->resumed(process);
}

Host* Kernel::find_host(std::string_view name) const {
  for (const auto& host : hosts_)
    if (host->name == name) return host.get();
  return nullptr;
}

Process& Kernel::create_process(std::string name, Host& host) {
  const int pid = next_id_++;
  processes_.push_back(std::make_unique<Process>(pid, std::move(name), host));
  Process& process = *processes_.back();
  Event& event = trace_.record(EventKind::spawn, clock_.elapsed());
  event.pid = pid;
  event.data = process.name();
  return process;
}

Task& Kernel::add_task(std::unique_ptr<Task> task, bool staged) {
  Task& added = *task;
  added.tid_ = added.process().tasks_.empty() ? added.process().pid() : next_id_++;
  tasks_.push_back(std::move(task));
  added.process().tasks_.push_back(&added);
  if (staged) {
    scheduler_.stage(added);
  } else {
    scheduler_.admit(added);
  }
  return added;
}

Process* Kernel::find_process(int pid) const {
  // Made in pid order: threads' ids leave gaps between them.
  const auto it = std::lower_bound(processes_.begin(), processes_.end(), pid,
                                   [](const auto& process, int id) { return process->pid() < id; });
  return it != processes_.end() && (*it)->pid() == pid ? it->get() : nullptr;
}

Task* Kernel::find_thread(int tid) const {
  for (const auto& task : tasks_)
    if (task->tid() == tid && task->state() != TaskState::done) return task.get();
  return nullptr;
}

int Process::ppid() const { return parent_ ? parent_ : kOuterSession; }

Process& Kernel::fork_process(Process& parent, std::string name) {
  Process& child = create_process(std::move(name), parent.host());
  child.parent_ = parent.pid();
  child.pgid_ = parent.pgid_;
  child.sid_ = parent.sid_;
  for (const auto& [fd, socket] : parent.fds_) {
    ++socket->open_fds;
    child.fds_.emplace(fd, socket);
  }
  return child;
}

std::vector<int> Kernel::fds_of(const Process& process) const {
  std::vector<int> fds;
  for (const auto& [fd, _] : process.fds_) fds.push_back(fd);
  return fds;
}

long Kernel::wait_child(Task& self, int pid, bool nohang, int* status) {
  begin_call(self);
  Process& parent = self.process();
  for (;;) {
    bool any = false;
    for (const auto& child : processes_) {
      if (child->parent_ != parent.pid() || child->reaped_ || (pid > 0 && child->pid() != pid)) continue;
      any = true;
      if (!child->exited()) continue;
      child->reaped_ = true;
      *status = child->exit_signal_ ? child->exit_signal_ : (*child->exit_status_ & 0xff) << 8;
      return child->pid();
    }
    if (!any) return -ECHILD;
    if (nohang) return 0;
    WaitQueue* queue = &parent.child_exits_;
    // A stopping task cannot block again.
    if (!scheduler_.block(self, Wait{"wait"}, {&queue, 1}, std::nullopt)) return -EINTR;
  }
}

void Kernel::exit_process(Process& process, int status, int signal) {
  if (process.exited()) return;
  process.exit_status_ = status;
  process.exit_signal_ = signal;
  if (Process* parent = find_process(process.parent_)) parent->child_exits_.notify_all();
  // Orphans have nobody left to wait for them.
  for (const auto& child : processes_)
    if (child->parent_ == process.pid()) child->parent_ = 0;
  for (Task* task : process.tasks_)
    if (task != scheduler_.current()) scheduler_.cancel(*task);
  const Task* actor = scheduler_.current();
  while (!process.fds_.empty()) release(process, actor, process.fds_.begin()->first);
  disarm_timers(process.pid());
  Event& event = trace_.record(EventKind::exit, clock_.elapsed());
  event.pid = process.pid();
  event.value = status;
}

// --- descriptors ---

std::shared_ptr<Socket> Kernel::lookup(const Task& self, int fd) const {
  const auto& fds = self.process().fds_;
  const auto it = fds.find(fd);
  return it == fds.end() ? nullptr : it->second;
}

int Kernel::lowest_free_fd(const Process& process, int other) const {
  int fd = 3;  // 0, 1 and 2 are the standard streams
  while (fd == other || process.fds_.contains(fd)) ++fd;
  return fd;
}

int Kernel::install(Process& process, std::shared_ptr<Socket> socket, int at) {
  int fd = at;
  if (at >= 0) {
    if (process.fds_.contains(at)) return -EBADF;
  } else {
    fd = lowest_free_fd(process);
  }
  ++socket->open_fds;
  process.fds_.emplace(fd, std::move(socket));
  return fd;
}

void Kernel::release(Process& process, const Task* actor, int fd) {
  const auto it = process.fds_.find(fd);
  std::shared_ptr<Socket> socket = std::move(it->second);
  process.fds_.erase(it);
  if (--socket->open_fds > 0) return;
  record(*this, EventKind::close, actor, fd, socket.get());
  epoll_release(*socket);
  if (socket->stream) {
    stream_close(*this, actor, *socket);
  } else {
    socket->state = SockState::closed;
  }
  if (socket->unix_domain) unix_close(*this, *socket);
  net_->unbind(*socket);
}

void Kernel::begin_call(Task& self) {
  if (config_.call_cost) clock_.advance_to(clock_.elapsed() + config_.call_cost);
  scheduler_.yield_point(self);
}

long Kernel::result(Task& self, int fd, long r, const char* call) {
  // EAGAIN and EINPROGRESS are the normal answers of non-blocking sockets, not errors
  // worth a trace line each time a loop polls.
  if (r < 0 && r != -EAGAIN && r != -EINPROGRESS) {
    Event& event = record(*this, EventKind::error, &self, fd, lookup(self, fd).get());
    event.err = static_cast<int>(-r);
    event.data = call;
  }
  return r;
}

// --- calls ---

long Kernel::socket(Task& self, int domain, int type, int protocol, int at) {
  begin_call(self);
  if (domain == AF_UNIX) return result(self, -1, unix_socket(*this, self, type, protocol, at), "socket");
  if (domain != AF_INET && domain != AF_INET6) return result(self, -1, -EAFNOSUPPORT, "socket");
  const int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (kind != SOCK_STREAM && kind != SOCK_DGRAM) return result(self, -1, -ESOCKTNOSUPPORT, "socket");
  const int expected = kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
  if (protocol != 0 && protocol != expected) return result(self, -1, -EPROTONOSUPPORT, "socket");
  auto socket = std::make_shared<Socket>();
  socket->id = net_->next_socket_id();
  socket->stream = kind == SOCK_STREAM;
  socket->family = domain == AF_INET ? Family::inet : Family::inet6;
  socket->host = &self.process().host();
  socket->creator = self.process().pid();
  socket->rcvbuf = config_.socket_buffer;
  socket->nonblocking = (type & SOCK_NONBLOCK) != 0;
  return result(self, -1, install(self.process(), std::move(socket), at), "socket");
}

long Kernel::socketpair(Task& self, int type, int at0, int at1) {
  begin_call(self);
  if (at0 == at1 || lookup(self, at0) || lookup(self, at1))
    return result(self, -1, -EBADF, "socketpair");
  if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_DGRAM)
    return result(self, -1, unix_datagram_pair(*this, self, type, at0, at1), "socketpair");
  std::shared_ptr<Socket> ends[2];
  for (auto& end : ends) {
    end = std::make_shared<Socket>();
    end->id = net_->next_socket_id();
    end->host = &self.process().host();
    end->rcvbuf = config_.socket_buffer;
    end->nonblocking = (type & SOCK_NONBLOCK) != 0;
    end->state = SockState::connected;
    end->unix_domain = true;
  }
  ends[0]->conn = ends[1]->conn = net_->next_connection_id();
  ends[0]->peer = ends[1].get();
  ends[1]->peer = ends[0].get();
  install(self.process(), std::move(ends[0]), at0);
  install(self.process(), std::move(ends[1]), at1);
  return 0;
}

void Kernel::install_input(Process& process, int fd, std::string bytes) {
  auto input = std::make_shared<Socket>();
  input->id = net_->next_socket_id();
  input->host = &process.host();
  input->rcvbuf = config_.socket_buffer;
  input->state = SockState::connected;
  input->rx.append(bytes);
  // Nobody writes to it: the bytes are all there is, then end of file.
  input->eof = true;
  input->wr_shut = true;
  input->pipe = true;
  install(process, std::move(input), fd);
}

long Kernel::bind(Task& self, int fd, const Address& address) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "bind");
  if (socket->unix_domain) return result(self, fd, -EINVAL, "bind");
  if (address.ip.family != socket->family) return result(self, fd, -EAFNOSUPPORT, "bind");
  if (socket->local) return result(self, fd, -EINVAL, "bind");
  if (const int err = net_->bind(*socket, address)) return result(self, fd, err, "bind");
  record(*this, EventKind::bind, &self, fd, socket.get());
  return 0;
}

long Kernel::listen(Task& self, int fd, int backlog) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "listen");
  if (!socket->stream) return result(self, fd, -EOPNOTSUPP, "listen");
  if (socket->unix_domain) return result(self, fd, unix_listen(*this, self, fd, *socket, backlog), "listen");
  return result(self, fd, stream_listen(*this, self, fd, *socket, backlog), "listen");
}

long Kernel::accept(Task& self, int fd, Address* peer, int flags, int at) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "accept");
  if (!socket->stream) return result(self, fd, -EOPNOTSUPP, "accept");
  if (at >= 0 && self.process().fds_.contains(at)) return result(self, fd, -EBADF, "accept");
  if (socket->unix_domain)
    return result(self, fd, unix_accept(*this, self, fd, *socket, flags, at), "accept");
  return result(self, fd, stream_accept(*this, self, fd, *socket, peer, flags, at), "accept");
}

long Kernel::connect(Task& self, int fd, const Address& address) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "connect");
  if (socket->unix_domain) return result(self, fd, -EINVAL, "connect");
  if (address.ip.family != socket->family) return result(self, fd, -EAFNOSUPPORT, "connect");
  const long r = socket->stream ? stream_connect(*this, self, fd, *socket, address)
                                : datagram_connect(*this, self, fd, *socket, address);
  return result(self, fd, r, "connect");
}

long Kernel::sendto(Task& self, int fd, const void* data, std::size_t size, int flags,
                    const Address* to) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "send");
  const std::string_view bytes(static_cast<const char*>(data), size);
  if (socket->epoll) return result(self, fd, -EINVAL, "write");
  if (socket->eventfd) return result(self, fd, eventfd_write(*this, self, fd, *socket, bytes), "write");
  if (socket->unix_domain && to) return result(self, fd, -EINVAL, "send");
  if (socket->unix_domain && !socket->stream)
    return result(self, fd, unix_send(*this, self, fd, *socket, bytes, flags, nullptr), "send");
  if (to && to->ip.family != socket->family) return result(self, fd, -EAFNOSUPPORT, "send");
  // A stream socket ignores the address, as Linux does for a connected socket.
  const long r = socket->stream ? stream_send(*this, self, fd, *socket, bytes, flags)
                                : datagram_send(*this, self, fd, *socket, bytes, to);
  return result(self, fd, r, "send");
}

long Kernel::recvfrom(Task& self, int fd, void* data, std::size_t size, int flags, Address* from) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "recv");
  char* out = static_cast<char*>(data);
  if (socket->epoll) return result(self, fd, -EINVAL, "read");
  if (socket->eventfd) return result(self, fd, eventfd_read(*this, self, fd, *socket, out, size), "read");
  if (socket->unix_domain && !socket->stream)
    return result(self, fd, unix_recv(*this, self, fd, *socket, out, size, flags, nullptr), "recv");
  if (!socket->stream) {
    return result(self, fd, datagram_recv(*this, self, fd, *socket, out, size, flags, from), "recv");
  }
  const long r = stream_recv(*this, self, fd, *socket, out, size, flags);
  if (r >= 0 && from && socket->remote) *from = *socket->remote;
  return result(self, fd, r, "recv");
}

long Kernel::shutdown(Task& self, int fd, int how) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "shutdown");
  if (!socket->stream) return result(self, fd, -ENOTCONN, "shutdown");
  return result(self, fd, stream_shutdown(*this, self, fd, *socket, how), "shutdown");
}

long Kernel::close(Task& self, int fd) {
  begin_call(self);
  if (!lookup(self, fd)) return result(self, fd, -EBADF, "close");
  release(self.process(), &self, fd);
  return 0;
}

long Kernel::dup(Task& self, int fd, int at) {
  begin_call(self);
  auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "dup");
  return result(self, fd, install(self.process(), std::move(socket), at), "dup");
}

long Kernel::getsockname(Task& self, int fd, Address* out) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "getsockname");
  *out = socket->local.value_or(Address{Ip::any(socket->family), 0});
  return 0;
}

long Kernel::getpeername(Task& self, int fd, Address* out) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "getpeername");
  const bool connected = socket->stream ? socket->state == SockState::connected && !socket->dead
                                        : socket->remote.has_value();
  if (!connected || !socket->remote) return result(self, fd, -ENOTCONN, "getpeername");
  *out = *socket->remote;
  return 0;
}

long Kernel::get_nonblocking(Task& self, int fd) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "fcntl");
  return socket->nonblocking ? 1 : 0;
}

long Kernel::set_nonblocking(Task& self, int fd, bool on) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "fcntl");
  socket->nonblocking = on;
  return 0;
}

namespace {

// Linux doubles SO_RCVBUF to leave room for its bookkeeping and enforces a minimum.
constexpr int kMinRcvbuf = 2304;

}  // namespace

long Kernel::setsockopt(Task& self, int fd, int level, int name, int value) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "setsockopt");
  if (level == SOL_SOCKET && name == SO_RCVBUF) {
    socket->rcvbuf = static_cast<std::size_t>(std::max(kMinRcvbuf, value * 2));
  } else if (level == SOL_SOCKET && name == SO_REUSEADDR) {
    socket->reuseaddr = value != 0;  // no TIME_WAIT here, so there is nothing to reuse
  } else if (level == SOL_SOCKET && name == SO_REUSEPORT) {
    socket->reuseport = value != 0;
  } else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
    if (socket->family != Family::inet6) return result(self, fd, -ENOPROTOOPT, "setsockopt");
    if (socket->local) return result(self, fd, -EINVAL, "setsockopt");
    socket->v6only = value != 0;
  } else if (level == SOL_SOCKET || level == IPPROTO_TCP || level == IPPROTO_IP ||
             level == IPPROTO_IPV6 || level == IPPROTO_UDP) {
    // Options with no effect on a virtual network (TCP_NODELAY, SO_KEEPALIVE,
    // SO_SNDBUF, ...) are kept so that getsockopt() returns what was set.
    socket->options[{level, name}] = value;
  } else {
    return result(self, fd, -ENOPROTOOPT, "setsockopt");
  }
  return 0;
}

long Kernel::getsockopt(Task& self, int fd, int level, int name, int* value) {
  begin_call(self);
  const auto socket = lookup(self, fd);
  if (!socket) return result(self, fd, -EBADF, "getsockopt");
  if (level == SOL_SOCKET && name == SO_ERROR) {
    *value = socket->error;
    socket->error = 0;
  } else if (level == SOL_SOCKET && name == SO_TYPE) {
    *value = socket->stream ? SOCK_STREAM : SOCK_DGRAM;
  } else if (level == SOL_SOCKET && name == SO_DOMAIN) {
    *value = socket->unix_domain ? AF_UNIX : socket->family == Family::inet ? AF_INET : AF_INET6;
  } else if (level == SOL_SOCKET && name == SO_PROTOCOL) {
    *value = socket->unix_domain ? 0 : socket->stream ? IPPROTO_TCP : IPPROTO_UDP;
  } else if (level == SOL_SOCKET && name == SO_ACCEPTCONN) {
    *value = socket->state == SockState::listening;
  } else if (level == SOL_SOCKET && name == SO_RCVBUF) {
    *value = static_cast<int>(socket->rcvbuf);
  } else if (level == SOL_SOCKET && name == SO_REUSEADDR) {
    *value = socket->reuseaddr;
  } else if (level == SOL_SOCKET && name == SO_REUSEPORT) {
    *value = socket->reuseport;
  } else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY) {
    *value = socket->v6only;
  } else {
    const auto it = socket->options.find({level, name});
    *value = it == socket->options.end() ? 0 : it->second;
  }
  return 0;
}

long Kernel::sleep(Task& self, Nanos duration) {
  begin_call(self);
  if (duration <= 0) return 0;
  scheduler_.block(self, Wait{"sleep"}, {}, clock_.elapsed() + duration);
  return 0;
}

void Kernel::emit_output(const Task& task, int stream, std::string_view bytes) {
  Event& event = trace_.record(EventKind::output, clock_.elapsed());
  event.pid = task.process().pid();
  event.task = task.id();
  event.value = stream;
  event.data = bytes;
  if (stream == 2 && !bytes.empty()) task.process().stderr_mid_line_ = bytes.back() != '\n';
}

void Kernel::emit_notice(const Task& task, std::string_view line) {
  if (task.process().stderr_mid_line_)
    emit_output(task, 2, "\n" + std::string(line));
  else
    emit_output(task, 2, line);
}

long Kernel::write_output(Task& self, int stream, std::string_view bytes) {
  begin_call(self);
  if (stream != 1 && stream != 2) return -EBADF;
  emit_output(self, stream, bytes);
  return static_cast<long>(bytes.size());
}

// --- descriptions, for the deadlock report ---

std::string Kernel::describe_fd(const Process& process, int fd) const {
  const auto it = process.fds_.find(fd);
  if (it == process.fds_.end()) return fmt::format("fd {} (not open)", fd);
  const Socket& socket = *it->second;
  if (socket.eventfd) return fmt::format("fd {} (eventfd, counter {})", fd, socket.counter);
  if (socket.epoll) return fmt::format("fd {} (epoll, {} watched)", fd, socket.epoll->items.size());
  std::string text = fmt::format("fd {} ({}", fd, socket.unix_domain ? (socket.stream ? "Unix stream" : "Unix datagram")
                                                  : (socket.stream ? "TCP" : "UDP"));
  // Abstract names as ss(8) shows them: '@' for the leading NUL.
  if (!socket.name.empty())
    text += socket.name[0] ? fmt::format(" {}", socket.name) : fmt::format(" @{}", socket.name.substr(1));
  if (socket.local) text += fmt::format(" {}", socket.local->str());
  if (socket.remote) text += fmt::format(" -> {}", socket.remote->str());
  switch (socket.state) {
    case SockState::listening: text += fmt::format(", listening, backlog {}", socket.backlog); break;
    case SockState::connecting: text += ", connecting"; break;
    case SockState::connected:
      text += fmt::format(", connection {}, {} bytes unread", socket.conn, socket.rx.size());
      if (socket.peer) text += fmt::format(", peer has {} unread", socket.peer->rx.size());
      break;
    default: break;
  }
  return text + ")";
}

std::string Kernel::describe_waits() const {
  std::string text;
  for (const Task* task : scheduler_.blocked_tasks()) {
    const Wait& wait = task->wait();
    const Process& process = task->process();
    text += fmt::format("  {} (pid {}, task {}): {}", task->name(), process.pid(), task->id(), wait.op);
    if (wait.fd >= 0) text += fmt::format(" on {}", describe_fd(process, wait.fd));
    for (std::size_t i = 0; i < wait.nfds; ++i)
      text += fmt::format("{}{}", i == 0 ? " on " : ", ", describe_fd(process, wait.fds[i].fd));
    text += '\n';
  }
  return text;
}

}  // namespace netsim
