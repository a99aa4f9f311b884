#include "netsim/sys.hpp"

#include <algorithm>
#include <memory>

#include "netsim/fiber_task.hpp"
#include "netsim/errors.hpp"
#include "netsim/kernel.hpp"

namespace netsim {
namespace {

long check(long r, const char* call) {
  if (r < 0) throw Error(static_cast<int>(-r), call);
  return r;
}

}  // namespace

int Sys::socket(int domain, int type, int protocol) {
  return static_cast<int>(check(kernel_.socket(task_, domain, type, protocol), "socket"));
}

void Sys::bind(int fd, const Address& address) { check(kernel_.bind(task_, fd, address), "bind"); }

void Sys::listen(int fd, int backlog) { check(kernel_.listen(task_, fd, backlog), "listen"); }

int Sys::accept(int fd, Address* peer, int flags) {
  return static_cast<int>(check(kernel_.accept(task_, fd, peer, flags), "accept"));
}

void Sys::connect(int fd, const Address& address) {
  check(kernel_.connect(task_, fd, address), "connect");
}

std::size_t Sys::send(int fd, std::string_view data, int flags) {
  return static_cast<std::size_t>(
      check(kernel_.sendto(task_, fd, data.data(), data.size(), flags, nullptr), "send"));
}

std::size_t Sys::sendto(int fd, std::string_view data, const Address& to, int flags) {
  return static_cast<std::size_t>(
      check(kernel_.sendto(task_, fd, data.data(), data.size(), flags, &to), "sendto"));
}

std::string Sys::recv(int fd, std::size_t max, int flags) { return recvfrom(fd, max, nullptr, flags); }

std::size_t Sys::recv_into(int fd, std::span<char> buffer, int flags) {
  return static_cast<std::size_t>(
      check(kernel_.recvfrom(task_, fd, buffer.data(), buffer.size(), flags, nullptr), "recv"));
}

std::string Sys::recvfrom(int fd, std::size_t max, Address* from, int flags) {
  std::string buffer(max, '\0');
  const long n = check(kernel_.recvfrom(task_, fd, buffer.data(), max, flags, from), "recv");
  // MSG_TRUNC reports the datagram's full size, which may exceed what was copied.
  buffer.resize(std::min(static_cast<std::size_t>(n), max));
  return buffer;
}

void Sys::shutdown(int fd, int how) { check(kernel_.shutdown(task_, fd, how), "shutdown"); }

void Sys::close(int fd) { check(kernel_.close(task_, fd), "close"); }

int Sys::dup(int fd) { return static_cast<int>(check(kernel_.dup(task_, fd), "dup")); }

Address Sys::getsockname(int fd) {
  Address address;
  check(kernel_.getsockname(task_, fd, &address), "getsockname");
  return address;
}

Address Sys::getpeername(int fd) {
  Address address;
  check(kernel_.getpeername(task_, fd, &address), "getpeername");
  return address;
}

void Sys::set_nonblocking(int fd, bool on) {
  check(kernel_.set_nonblocking(task_, fd, on), "fcntl");
}

void Sys::setsockopt(int fd, int level, int name, int value) {
  check(kernel_.setsockopt(task_, fd, level, name, value), "setsockopt");
}

int Sys::getsockopt(int fd, int level, int name) {
  int value = 0;
  check(kernel_.getsockopt(task_, fd, level, name, &value), "getsockopt");
  return value;
}

int Sys::poll(std::span<pollfd> fds, std::optional<Nanos> timeout) {
  return static_cast<int>(check(kernel_.poll(task_, fds, timeout), "poll"));
}

void Sys::sleep(Nanos duration) { check(kernel_.sleep(task_, duration), "sleep"); }

Nanos Sys::now() const { return kernel_.wall_clock(task_.process().host()); }

Nanos Sys::monotonic() const { return kernel_.clock().elapsed(); }

std::vector<Ip> Sys::resolve(std::string_view name) const { return kernel_.resolve(name); }

void Sys::print(std::string_view line) {
  std::string bytes(line);
  bytes += '\n';
  write(1, bytes);
}

void Sys::write(int stream, std::string_view bytes) {
  check(kernel_.write_output(task_, stream, bytes), "write");
}

int Sys::spawn_thread(std::string name, TaskFn body) {
  Kernel& kernel = kernel_;
  auto thread = std::make_unique<FiberTask>(
      kernel.next_task_id(), task_.process(), std::move(name),
      [&kernel, body = std::move(body)](Task& self) { run_task_body(kernel, self, body); });
  return kernel.add_task(std::move(thread), false).id();
}

}  // namespace netsim
