// Taking a request from the shared slot and giving the reply back (request.hpp), by
// the messages' table (protocol.hpp): what the shim can send. Anything else comes
// from a program that wrote into its slot itself.
#include "request.hpp"

#include <fmt/format.h>
#include <poll.h>

#include <climits>
#include <cstring>

#include "netsim/shim/protocol.hpp"

namespace netsim::shim {
namespace {

// One read of a word the child may be rewriting: every check and every use after it
// sees the same value, the private copy's.
template <typename T>
T once(const T& shared) {
  return __atomic_load_n(&shared, __ATOMIC_RELAXED);
}

// The bytes of Unix name the request carries, or -1 for a length no name has.
std::int64_t unix_name_bytes(const Slot& s, const Message& m) {
  if (m.unix_length_arg >= 0) {
    const std::int64_t n = s.args[m.unix_length_arg];
    return n >= 1 && n <= static_cast<std::int64_t>(kUnixRoom) ? n : -1;
  }
  return m.address >= 0 ? unix_name_length(&s.args[m.address]) : 0;
}

// The rules of the arguments that count, size or index something.
std::string check_arguments(const Slot& s, const Message& m, std::uint64_t size) {
  const std::int64_t* a = s.args;
  for (int i = 0; i < 6; ++i)
    if ((m.fds >> i & 1) && (a[i] < INT_MIN || a[i] > INT_MAX))
      return fmt::format("call {}, descriptor {} out of range", s.call, a[i]);
  if (unix_name_bytes(s, m) < 0)
    return fmt::format("call {}, a Unix name longer than {} bytes or empty", s.call, kUnixRoom);
  if (m.size_arg >= 0) {
    if (static_cast<std::uint64_t>(a[m.size_arg]) != size)
      return fmt::format("call {}, {} bytes to send with {} in the buffer", s.call, a[m.size_arg], size);
    if (m.address >= 0 && is_unix_address(&a[m.address]) && size > kUnixNameAt)
      return fmt::format("call {}, size {} > {} with a Unix name", s.call, size, kUnixNameAt);
  }
  if (m.limit_arg >= 0 && (a[m.limit_arg] < 0 || static_cast<std::uint64_t>(a[m.limit_arg]) > kSlotBuffer))
    return fmt::format("call {}, {} bytes to receive > {}", s.call, a[m.limit_arg], kSlotBuffer);
  if (m.count_arg >= 0) {
    const std::int64_t n = a[m.count_arg];
    if (n < 0 || static_cast<std::uint64_t>(n) > kPollPart)
      return fmt::format("call {}, {} descriptors > {}", s.call, n, kPollPart);
    if (static_cast<std::uint64_t>(n) * sizeof(pollfd) != size)
      return fmt::format("call {}, {} descriptors in {} bytes", s.call, n, size);
  }
  if (m.range_arg >= 0) {
    const std::int64_t v = a[m.range_arg];
    if (v < m.lo || v > m.hi || (m.ends && v != m.lo && v != m.hi))
      return fmt::format("call {}, argument {} is {}, out of {}..{}", s.call, m.range_arg, v, m.lo, m.hi);
  }
  if (m.exact_size && size != m.exact_size)
    return fmt::format("call {}, {} bytes where {} go", s.call, size, m.exact_size);
  if (m.string && size == 0) return fmt::format("call {}, an empty buffer where a string goes", s.call);
  return {};
}

}  // namespace

std::string take_request(const Slot& shared, Slot& mine) {
  mine.call = once(shared.call);
  for (int i = 0; i < 6; ++i) mine.args[i] = once(shared.args[i]);
  const std::uint64_t size = once(shared.size);
  mine.size = 0;
  const Message* message = message_of(mine.call);
  if (!message) return fmt::format("call {}, which the shim never sends", mine.call);
  if (size > kSlotBuffer) return fmt::format("call {}, size {} > {}", mine.call, size, kSlotBuffer);
  if (std::string problem = check_arguments(mine, *message, size); !problem.empty()) return problem;
  if (message->payload) {
    std::memcpy(mine.buffer, shared.buffer, size);
    mine.size = size;
  }
  if (const std::int64_t name = unix_name_bytes(mine, *message); name > 0)
    std::memcpy(mine.buffer + kUnixNameAt, shared.buffer + kUnixNameAt, static_cast<std::size_t>(name));
  // Strings are read up to their NUL: it must be there, in what was copied.
  if (message->string && mine.buffer[size - 1] != 0) return fmt::format("call {}, a string without its NUL", mine.call);
  return {};
}

void give_reply(const Slot& mine, Slot& shared) {
  shared.result = mine.result;
  shared.signal = mine.signal;
  for (int i = 0; i < 6; ++i) shared.args[i] = mine.args[i];
  const Message& message = *message_of(mine.call);
  shared.size = 0;
  if (message.reply_payload) {
    std::memcpy(shared.buffer, mine.buffer, mine.size);
    shared.size = mine.size;
  }
  if (message.reply_address) {
    const std::int64_t name = unix_name_length(&mine.args[3]);
    if (name > 0) std::memcpy(shared.buffer + kUnixNameAt, mine.buffer + kUnixNameAt, static_cast<std::size_t>(name));
  }
}

}  // namespace netsim::shim
