// The calls Python code in a simulated task makes: the kernel's socket, poll, time,
// futex and output calls, for the patched `socket`, `select`, `selectors`, `time`,
// `threading` and `sys.stdout`. Each releases the GIL while in the kernel: a call
// that blocks hands the baton to the next task, which needs the GIL to run.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "netsim/errors.hpp"
#include "netsim/system.hpp"
#include "bindings.hpp"
#include "python_task.hpp"

namespace netsim::python {
namespace {

TaskContext& task() {
  TaskContext& context = current();
  if (!context.task) throw std::logic_error("netsim: this call is only possible inside a simulated task");
  return context;
}

// OSError(errno, message): Python picks the subclass (ConnectionRefusedError, ...).
[[noreturn]] void raise_errno(long err) {
  const int code = static_cast<int>(err);
  // Build the exception first: OSError(errno, ...) returns the subclass, and setting
  // it as its own type keeps pybind11 from seeing the type change when the error is
  // normalised (which it reports as a mismatch while another exception is handled).
  const py::object error = py::reinterpret_steal<py::object>(
      PyObject_Call(PyExc_OSError, py::make_tuple(code, errno_message(code)).ptr(), nullptr));
  if (!error) throw py::error_already_set();
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  throw py::error_already_set();
}

long check(long r) {
  if (r < 0) raise_errno(-r);
  return r;
}

template <typename Call>
long call(Call&& fn) {
  TaskContext& context = task();
  long r;
  {
    py::gil_scoped_release release;
    r = fn(*context.kernel, *context.task);
  }
  return check(r);
}

Address to_address(const std::string& host, int port) {
  const std::optional<Ip> ip = Ip::parse(host);
  if (!ip) throw py::value_error("netsim: not an IP address: '" + host + "'");
  if (port < 0 || port > 65535) throw py::value_error("port must be 0-65535.");
  return {*ip, static_cast<std::uint16_t>(port)};
}

py::tuple from_address(const Address& address) {
  return py::make_tuple(address.ip.str(), address.port);
}

// The kernel keeps a blocked task's wait label as a C string for the deadlock
// report: each distinct label ("Lock.acquire", "Thread.join", ...) is kept once,
// for good. Simulations may run in several threads at once, hence the mutex.
const char* intern(const std::string& label) {
  static std::mutex mutex;
  static std::set<std::string, std::less<>> labels;
  std::lock_guard lock(mutex);
  return labels.insert(label).first->c_str();
}

}  // namespace

void bind_calls(py::module_& m) {
  m.def("in_task", [] { return current().task != nullptr; },
        "Whether this thread runs a simulated task.");
  m.def("socket", [](int family, int type, int proto, int at) {
    return call([&](Kernel& k, Task& t) { return k.socket(t, family, type, proto, at); });
  });
  m.def("bind", [](int fd, const std::string& host, int port) {
    const Address address = to_address(host, port);
    call([&](Kernel& k, Task& t) { return k.bind(t, fd, address); });
  });
  m.def("listen", [](int fd, int backlog) {
    call([&](Kernel& k, Task& t) { return k.listen(t, fd, backlog); });
  });
  m.def("accept", [](int fd, int flags, int at) {
    Address peer;
    const long new_fd = call([&](Kernel& k, Task& t) { return k.accept(t, fd, &peer, flags, at); });
    return py::make_tuple(new_fd, from_address(peer));
  });
  m.def("connect", [](int fd, const std::string& host, int port) {
    const Address address = to_address(host, port);
    call([&](Kernel& k, Task& t) { return k.connect(t, fd, address); });
  });
  m.def("send", [](int fd, py::buffer data, int flags) {
    const py::buffer_info info = data.request();
    const auto size = static_cast<std::size_t>(info.size * info.itemsize);
    return call([&](Kernel& k, Task& t) { return k.sendto(t, fd, info.ptr, size, flags, nullptr); });
  });
  m.def("sendto", [](int fd, py::buffer data, int flags, const std::string& host, int port) {
    const Address to = to_address(host, port);
    const py::buffer_info info = data.request();
    const auto size = static_cast<std::size_t>(info.size * info.itemsize);
    return call([&](Kernel& k, Task& t) { return k.sendto(t, fd, info.ptr, size, flags, &to); });
  });
  m.def("recv_into", [](int fd, py::buffer buffer, std::size_t size, int flags) {
    const py::buffer_info info = buffer.request(true);
    const auto capacity = static_cast<std::size_t>(info.size * info.itemsize);
    if (size == 0 || size > capacity) size = capacity;
    Address from;
    const long n = call([&](Kernel& k, Task& t) { return k.recvfrom(t, fd, info.ptr, size, flags, &from); });
    return py::make_tuple(n, from_address(from));
  });
  m.def("recv", [](int fd, std::size_t size, int flags) {
    // recv() is the hot call of most programs: read straight into a reused buffer
    // and build the bytes once.
    thread_local std::string buffer;
    buffer.resize(size);
    const long n = call([&](Kernel& k, Task& t) { return k.recvfrom(t, fd, buffer.data(), size, flags, nullptr); });
    // MSG_TRUNC reports a datagram's full length, which may exceed what was read.
    return py::bytes(buffer.data(), std::min(static_cast<std::size_t>(n), size));
  });
  m.def("shutdown", [](int fd, int how) { call([&](Kernel& k, Task& t) { return k.shutdown(t, fd, how); }); });
  m.def("close", [](int fd) { call([&](Kernel& k, Task& t) { return k.close(t, fd); }); });
  m.def("dup", [](int fd, int at) { return call([&](Kernel& k, Task& t) { return k.dup(t, fd, at); }); });
  m.def("getsockname", [](int fd) {
    Address address;
    call([&](Kernel& k, Task& t) { return k.getsockname(t, fd, &address); });
    return from_address(address);
  });
  m.def("getpeername", [](int fd) {
    Address address;
    call([&](Kernel& k, Task& t) { return k.getpeername(t, fd, &address); });
    return from_address(address);
  });
  m.def("socketpair", [](int type) {
    // Two numbers at once: the lowest free one and the next, as Linux's fd_install gives them.
    int fds[2] = {-1, -1};
    call([&](Kernel& k, Task& t) {
      fds[0] = k.lowest_free_fd(t.process());
      fds[1] = k.lowest_free_fd(t.process(), fds[0]);
      return k.socketpair(t, type, fds[0], fds[1]);
    });
    return py::make_tuple(fds[0], fds[1]);
  });
  // Unix-domain names are sun_path's bytes (kernel.hpp); socket.py turns them into
  // str or bytes as CPython does.
  m.def("bind_unix", [](int fd, const std::string& name) {
    call([&](Kernel& k, Task& t) { return k.bind_unix(t, fd, name); });
  });
  m.def("connect_unix", [](int fd, const std::string& name) {
    call([&](Kernel& k, Task& t) { return k.connect_unix(t, fd, name); });
  });
  m.def("accept_unix", [](int fd, int flags, int at) {
    std::string peer;
    const long new_fd = call([&](Kernel& k, Task& t) { return k.accept_unix(t, fd, &peer, flags, at); });
    return py::make_tuple(new_fd, py::bytes(peer));
  });
  m.def("name_unix", [](int fd, bool peer) {
    std::string name;
    call([&](Kernel& k, Task& t) { return k.name_unix(t, fd, peer, &name); });
    return py::bytes(name);
  });
  m.def("unlink_unix", [](const std::string& path) {
    call([&](Kernel& k, Task& t) { return k.unlink_unix(t, path); });
  });
  m.def("pipe", [](int flags) {
    int fds[2] = {-1, -1};
    call([&](Kernel& k, Task& t) { return k.pipe(t, flags, fds); });
    return py::make_tuple(fds[0], fds[1]);
  });
  m.def("get_nonblocking", [](int fd) {
    return call([&](Kernel& k, Task& t) { return k.get_nonblocking(t, fd); }) != 0;
  });
  m.def("set_nonblocking", [](int fd, bool on) {
    call([&](Kernel& k, Task& t) { return k.set_nonblocking(t, fd, on); });
  });
  m.def("setsockopt", [](int fd, int level, int name, int value) {
    call([&](Kernel& k, Task& t) { return k.setsockopt(t, fd, level, name, value); });
  });
  m.def("getsockopt", [](int fd, int level, int name) {
    int value = 0;
    call([&](Kernel& k, Task& t) { return k.getsockopt(t, fd, level, name, &value); });
    return value;
  });
  m.def(
      "poll",
      [](const std::vector<std::pair<int, int>>& wanted, std::optional<std::int64_t> timeout_ns) {
        std::vector<pollfd> fds;
        fds.reserve(wanted.size());
        for (const auto& [fd, events] : wanted) fds.push_back({fd, static_cast<short>(events), 0});
        call([&](Kernel& k, Task& t) { return k.poll(t, fds, timeout_ns); });
        std::vector<std::pair<int, int>> ready;
        for (const pollfd& entry : fds)
          if (entry.revents) ready.emplace_back(entry.fd, entry.revents);
        return ready;
      },
      py::arg("fds"), py::arg("timeout_ns") = py::none(),
      "poll(2) over simulated descriptors: [(fd, events)] -> [(fd, revents)].");
  m.def("epoll_create", [](int flags) {
    return call([&](Kernel& k, Task& t) { return k.epoll_create(t, flags); });
  }, "epoll_create1(2): the new epoll descriptor.");
  m.def("epoll_ctl", [](int epfd, int op, int fd, std::uint32_t events, std::uint64_t data) {
    call([&](Kernel& k, Task& t) { return k.epoll_ctl(t, epfd, op, fd, events, data); });
  }, "epoll_ctl(2); data is the event's u64.");
  m.def(
      "epoll_wait",
      [](int epfd, int maxevents, std::optional<std::int64_t> timeout_ns) {
        std::vector<Kernel::EpollEvent> events(static_cast<std::size_t>(std::max(maxevents, 0)));
        const long n = call([&](Kernel& k, Task& t) { return k.epoll_wait(t, epfd, events, timeout_ns); });
        std::vector<std::pair<std::uint64_t, std::uint32_t>> ready;
        for (long i = 0; i < n; ++i) ready.emplace_back(events[i].data, events[i].events);
        return ready;
      },
      py::arg("epfd"), py::arg("maxevents"), py::arg("timeout_ns") = py::none(),
      "epoll_wait(2): [(data, events)], at most maxevents.");
  m.def("sleep", [](std::int64_t ns) { call([&](Kernel& k, Task& t) { return k.sleep(t, ns); }); });
  m.def(
      "futex_wait",
      [](std::uint64_t key, std::optional<std::int64_t> timeout_ns, const std::string& what) {
        const char* label = intern(what);
        TaskContext& context = task();
        long r;
        {
          py::gil_scoped_release release;
          r = context.kernel->futex_wait(*context.task, key, timeout_ns, label);
        }
        // A stopping task that waits again (in a `finally`) can never be woken:
        // stopping it again unwinds it further instead of spinning in its lock loop.
        if (r == -EINTR) throw TaskCancelled{};
        return r == 0;
      },
      py::arg("key"), py::arg("timeout_ns"), py::arg("what"),
      "Blocks until futex_wake(key) (True) or the timeout (False).");
  m.def("futex_wake", [](std::uint64_t key, int count) {
    return call([&](Kernel& k, Task& t) { return k.futex_wake(t, key, count); });
  }, "Wakes up to count waiters on key, longest waiting first; returns how many.");
  // The clocks of the task's host: its offset, drift and jumps (HostSpec, clock_jump).
  m.def("time_ns", [] { return task().kernel->wall_clock(task().task->process().host()); });
  m.def("monotonic_ns", [] { return task().kernel->monotonic_clock(task().task->process().host()); });
  m.def("elapsed_ns", [] { return task().kernel->clock().elapsed(); });
  m.def("write", [](int stream, py::bytes data) {
    const std::string bytes = data;
    return call([&](Kernel& k, Task& t) { return k.write_output(t, stream, bytes); });
  });
  m.def("resolve", [](const std::string& name) {
    std::vector<std::string> addresses;
    for (const Ip& ip : task().kernel->resolve(name)) addresses.push_back(ip.str());
    return addresses;
  });
  m.def(
      "lookup",
      [](const std::string& name) {
        TaskContext& context = task();
        Resolution resolution;
        {
          py::gil_scoped_release release;
          resolution = context.kernel->resolve(*context.task, name);
        }
        std::vector<std::string> addresses;
        for (const Ip& ip : resolution.addresses) addresses.push_back(ip.str());
        return py::make_tuple(resolution.error, addresses);
      },
      "getaddrinfo's lookup of a name for the calling task, resolve_fail faults included: "
      "(0, addresses) or (EAI_ code, []).");
  m.def(
      "exit_process",
      [](int status) {
        TaskContext& context = task();
        context.kernel->exit_process(context.task->process(), status);
        throw TaskCancelled{};  // the caller's own task ends too, unwinding its Python frames
      },
      "Ends the calling task's process with status (os._exit); does not return.");
  m.def("task_name", [] { return task().task->name(); });
  m.def(
      "system_facts",
      [] {
        const SystemFacts facts = system_facts(task().task->process().host());
        py::dict out;
        out["sysname"] = facts.sysname;
        out["nodename"] = facts.nodename;
        out["release"] = facts.release;
        out["version"] = facts.version;
        out["machine"] = facts.machine;
        out["cpus"] = facts.cpus;
        return out;
      },
      "The simulated machine of the calling task's host (uname's fields and cpus).");
  m.def("python_hash_seed", &python_hash_seed, "PYTHONHASHSEED for a run of this seed (system.hpp).");
  m.def("pid", [] { return task().task->process().pid(); });
  m.def("ppid", [] { return task().task->process().ppid(); });
  m.def("tid", [] { return task().task->tid(); }, "The calling task's thread id (gettid).");
  m.def(
      "kill",
      [](int pid, int signal, int group) {
        call([&](Kernel& k, Task& t) { return k.kill(t, pid, signal, group); });
      },
      py::arg("pid"), py::arg("signal"), py::arg("group") = 0,
      "kill(2) between simulated processes (Kernel::kill); group: the process a thread id must be in.");
  m.def("getpgid", [](int pid) { return call([&](Kernel& k, Task& t) { return k.getpgid(t, pid); }); });
  m.def("setpgid", [](int pid, int pgid) { call([&](Kernel& k, Task& t) { return k.setpgid(t, pid, pgid); }); });
  m.def("getsid", [](int pid) { return call([&](Kernel& k, Task& t) { return k.getsid(t, pid); }); });
  m.def("setsid", [] { return call([&](Kernel& k, Task& t) { return k.setsid(t); }); });
  m.def("stopping", [] { return task().task->cancel_requested(); },
        "Whether the simulation is stopping this task (its process or the run ended).");
  m.def(
      "unraisablehook_over",
      [](py::object previous) {
        return py::cpp_function([previous](py::object unraisable) {
          // A Ctrl-C reaches a task as TaskCancelled at its next bytecode, which may be
          // in a finalizer (a __del__ the garbage collector runs), where Python cannot
          // let it escape: it would print "Exception ignored" into the transcript and
          // the task would go on. It is raised again once the finalizer has returned.
          // In C++, because the next bytecode of a Python hook would take it at once.
          if (current().task != nullptr &&
              PyErr_GivenExceptionMatches(unraisable.attr("exc_value").ptr(), task_cancelled_type().ptr())) {
            PyThreadState_SetAsyncExc(PyThread_get_thread_ident(), task_cancelled_type().ptr());
            return;
          }
          previous(unraisable);
        });
      },
      "sys.unraisablehook for a run: the stop of a task survives a finalizer; the rest goes to `previous`.");
}

}  // namespace netsim::python
