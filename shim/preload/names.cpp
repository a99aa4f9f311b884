// Name resolution: the libc entry points a program resolves names with, answered by
// the simulator (kCallResolve, kCallReverseResolve; served in shim/runner/
// net_calls.cpp), so that "localhost", the simulated hosts' names and literal
// addresses resolve as on the virtual network and nothing else does: an unknown name
// is EAI_NONAME / HOST_NOT_FOUND, never a query to the real DNS. The results have
// the shapes glibc gives (getaddrinfo's socket types per address, its NULL-node
// answers, its error codes). Service names come from /etc/services, read here so
// that glibc's NSS (and its nscd probe) stays out of it.
//
// Threads the simulator does not run get the real functions.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "shim.hpp"

namespace netsim::shim {
namespace {

template <typename Fn>
Fn real(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// ---------------------------------------------------------------- addresses

constexpr int kMaxAddresses = 32;

struct Ip {
  int family;  // AF_INET or AF_INET6
  unsigned char bytes[16];
};

int ip_size(int family) { return family == AF_INET ? 4 : 16; }

// A literal as glibc's getaddrinfo takes it: IPv4 in inet_aton()'s forms ("127.1"
// too), IPv6 with an optional numeric "%scope".
bool parse_literal(const char* text, Ip& ip, std::uint32_t* scope = nullptr) {
  if (text == nullptr || *text == '\0') return false;
  for (const char* p = text; *p; ++p)
    if (*p == ' ' || *p == '\t' || *p == '\n') return false;
  std::memset(&ip, 0, sizeof ip);
  in_addr v4;
  if (inet_aton(text, &v4) == 1) {
    ip.family = AF_INET;
    std::memcpy(ip.bytes, &v4, 4);
    return true;
  }
  char copy[64];
  const char* percent = std::strchr(text, '%');
  const std::size_t length = percent ? static_cast<std::size_t>(percent - text) : std::strlen(text);
  if (length >= sizeof copy) return false;
  std::memcpy(copy, text, length);
  copy[length] = '\0';
  if (inet_pton(AF_INET6, copy, ip.bytes) != 1) return false;
  ip.family = AF_INET6;
  if (scope) *scope = percent ? static_cast<std::uint32_t>(std::strtoul(percent + 1, nullptr, 10)) : 0;
  return true;
}

// kCallResolve: buffer = the name, NUL-terminated; the reply buffer holds the
// addresses, each a family byte (4 or 6) and 16 address bytes; result = their count,
// or an EAI_ code (negative) when a fault makes the lookup fail.
int resolve(const char* name, Ip* out, int max) {
  const std::size_t length = std::strlen(name);
  if (length == 0 || length > 1024) return 0;
  Slot& s = *my_slot();
  s.call = kCallResolve;
  std::memset(s.args, 0, sizeof s.args);
  std::memcpy(s.buffer, name, length + 1);
  s.size = length + 1;
  const long r = forward(s);
  if (r < 0) return static_cast<int>(r);
  int n = 0;
  for (long i = 0; i < r && n < max; ++i) {
    const unsigned char* entry = s.buffer + i * 17;
    if (entry[0] != 4 && entry[0] != 6) continue;
    out[n].family = entry[0] == 4 ? AF_INET : AF_INET6;
    std::memcpy(out[n].bytes, entry + 1, 16);
    ++n;
  }
  return n;
}

// kCallReverseResolve: args[0] = 4 or 6, buffer = the 16 address bytes (IPv4 in the
// first four); the reply buffer holds the name; result = its length or -ENOENT.
bool reverse(const Ip& ip, char* name, std::size_t room) {
  Slot& s = *my_slot();
  s.call = kCallReverseResolve;
  std::memset(s.args, 0, sizeof s.args);
  s.args[0] = ip.family == AF_INET ? 4 : 6;
  std::memset(s.buffer, 0, 16);
  std::memcpy(s.buffer, ip.bytes, ip_size(ip.family));
  s.size = 16;
  const long r = forward(s);
  if (r < 0 || static_cast<std::size_t>(r) >= room) return false;
  std::memcpy(name, s.buffer, static_cast<std::size_t>(r));
  name[r] = '\0';
  return true;
}

// ---------------------------------------------------------------- /etc/services

// Finds a service by name (and aliases) or by port for a protocol ("tcp", "udp"),
// reading the file natively, line by line.
bool find_service(const char* name, int port, const char* protocol, int* port_out,
                  char* name_out, std::size_t name_room) {
  const long fd = raw(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/etc/services"), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char chunk[4096];
  char line[512];
  std::size_t used = 0;
  bool found = false;
  bool overlong = false;
  for (;;) {
    const long got = raw(SYS_read, fd, reinterpret_cast<long>(chunk), sizeof chunk);
    if (got <= 0) break;
    for (long i = 0; i < got && !found; ++i) {
      if (chunk[i] != '\n') {
        if (used + 1 < sizeof line) line[used++] = chunk[i];
        else overlong = true;
        continue;
      }
      line[used] = '\0';
      used = 0;
      if (overlong) {
        overlong = false;
        continue;
      }
      if (char* hash = std::strchr(line, '#')) *hash = '\0';
      // name port/proto alias...
      char* save = nullptr;
      char* official = strtok_r(line, " \t", &save);
      char* port_proto = official ? strtok_r(nullptr, " \t", &save) : nullptr;
      if (!port_proto) continue;
      char* slash = std::strchr(port_proto, '/');
      if (!slash || std::strcmp(slash + 1, protocol) != 0) continue;
      *slash = '\0';
      const int number = std::atoi(port_proto);
      bool match = false;
      if (name) {
        match = std::strcmp(official, name) == 0;
        for (char* alias = strtok_r(nullptr, " \t", &save); alias && !match;
             alias = strtok_r(nullptr, " \t", &save))
          match = std::strcmp(alias, name) == 0;
      } else {
        match = number == port;
      }
      if (!match) continue;
      if (port_out) *port_out = number;
      if (name_out) std::snprintf(name_out, name_room, "%s", official);
      found = true;
    }
    if (found) break;
  }
  raw(SYS_close, fd);
  return found;
}

// ---------------------------------------------------------------- getaddrinfo

// glibc's table of socket types and protocols (gaih_inet_typeproto).
struct TypeProto {
  int socktype;
  int protocol;
  bool any_protocol;  // SOCK_RAW takes the caller's protocol
  bool no_service;    // SOCK_RAW has no named services
  bool by_default;    // listed when the caller names neither type nor protocol
  const char* name;
};

constexpr TypeProto kTypeProtos[] = {
    {SOCK_STREAM, IPPROTO_TCP, false, false, true, "tcp"},
    {SOCK_DGRAM, IPPROTO_UDP, false, false, true, "udp"},
    {SOCK_DCCP, IPPROTO_DCCP, false, false, false, "dccp"},
    {SOCK_DGRAM, IPPROTO_UDPLITE, false, false, false, "udplite"},
    {SOCK_STREAM, IPPROTO_SCTP, false, false, false, "sctp"},
    {SOCK_SEQPACKET, IPPROTO_SCTP, false, false, false, "sctp"},
    {SOCK_RAW, 0, true, true, true, "raw"},
};

struct Kind {
  int socktype;
  int protocol;
  int port;  // host order
};

bool matches(const TypeProto& tp, int socktype, int protocol) {
  return (socktype == 0 || socktype == tp.socktype) &&
         (protocol == 0 || tp.any_protocol || protocol == tp.protocol);
}

// The (type, protocol, port) triples of the answer, as glibc's gaih_inet() makes them:
// 0 and their count in `n`, or an EAI_ code.
int service_kinds(const char* service, int socktype, int protocol, int flags, Kind* out, int& n) {
  n = 0;
  const TypeProto* chosen = nullptr;
  if (socktype || protocol) {
    for (const TypeProto& tp : kTypeProtos) {
      if (matches(tp, socktype, protocol)) {
        chosen = &tp;
        break;
      }
    }
    if (!chosen) return socktype ? EAI_SOCKTYPE : EAI_SERVICE;
  }
  long number = -1;
  if (service) {
    char* end = nullptr;
    const unsigned long parsed = std::strtoul(service, &end, 10);
    if (*end != '\0') {
      if (flags & AI_NUMERICSERV) return EAI_NONAME;
    } else {
      number = static_cast<int>(parsed);  // glibc keeps an int: "-1" is a name
    }
  }
  if (service && number < 0) {
    if (chosen) {
      if (chosen->no_service) return EAI_SERVICE;
      int port;
      if (!find_service(service, 0, chosen->name, &port, nullptr, 0)) return EAI_SERVICE;
      out[n++] = Kind{chosen->socktype, chosen->any_protocol ? protocol : chosen->protocol, port};
    } else {
      for (const TypeProto& tp : kTypeProtos) {
        if (tp.no_service || !tp.by_default) continue;
        int port;
        if (find_service(service, 0, tp.name, &port, nullptr, 0))
          out[n++] = Kind{tp.socktype, tp.protocol, port};
      }
      if (n == 0) return EAI_SERVICE;
    }
    return 0;
  }
  if (service && chosen && chosen->no_service) return EAI_SERVICE;
  const int port = number < 0 ? 0 : static_cast<int>(number & 0xffff);
  if (chosen) {
    out[n++] = Kind{chosen->socktype, chosen->any_protocol ? protocol : chosen->protocol, port};
  } else {
    for (const TypeProto& tp : kTypeProtos)
      if (tp.by_default) out[n++] = Kind{tp.socktype, tp.protocol, port};
  }
  return 0;
}

// One node and its address in a single allocation, as glibc lays them out, so that
// either library's freeaddrinfo() frees the other's lists.
addrinfo* make_node(const Ip& ip, const Kind& kind, std::uint32_t scope) {
  const std::size_t size = ip.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  auto* node = static_cast<addrinfo*>(std::calloc(1, sizeof(addrinfo) + size));
  if (!node) return nullptr;
  node->ai_family = ip.family;
  node->ai_socktype = kind.socktype;
  node->ai_protocol = kind.protocol;
  node->ai_addrlen = static_cast<socklen_t>(size);
  node->ai_addr = reinterpret_cast<sockaddr*>(node + 1);
  if (ip.family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(node->ai_addr);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<std::uint16_t>(kind.port));
    std::memcpy(&in->sin_addr, ip.bytes, 4);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(node->ai_addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<std::uint16_t>(kind.port));
    std::memcpy(&in6->sin6_addr, ip.bytes, 16);
    in6->sin6_scope_id = scope;
  }
  return node;
}

void free_list(addrinfo* list) {
  while (list) {
    addrinfo* next = list->ai_next;
    std::free(list->ai_canonname);
    std::free(list);
    list = next;
  }
}

Ip mapped(const Ip& v4) {
  Ip ip{};
  ip.family = AF_INET6;
  ip.bytes[10] = ip.bytes[11] = 0xff;
  std::memcpy(ip.bytes + 12, v4.bytes, 4);
  return ip;
}

// Keeps the addresses of the asked family; AF_INET6 with AI_V4MAPPED takes IPv4
// addresses as ::ffff:a.b.c.d when there is no IPv6 one (or always with AI_ALL).
int filter_family(Ip* ips, int n, int family, int flags) {
  if (family == AF_UNSPEC) return n;
  Ip kept[kMaxAddresses];
  int k = 0;
  for (int i = 0; i < n; ++i)
    if (ips[i].family == family) kept[k++] = ips[i];
  if (family == AF_INET6 && (flags & AI_V4MAPPED) && (k == 0 || (flags & AI_ALL)))
    for (int i = 0; i < n && k < kMaxAddresses; ++i)
      if (ips[i].family == AF_INET) kept[k++] = mapped(ips[i]);
  std::memcpy(ips, kept, k * sizeof(Ip));
  return k;
}

// AI_ADDRCONFIG filters nothing: every simulated host has IPv4 and IPv6 addresses.
int sim_getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
  const int flags = hints ? hints->ai_flags : (AI_V4MAPPED | AI_ADDRCONFIG);
  const int family = hints ? hints->ai_family : AF_UNSPEC;
  const int socktype = hints ? hints->ai_socktype : 0;
  const int protocol = hints ? hints->ai_protocol : 0;
  if (flags & ~(AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG |
                AI_NUMERICSERV | AI_IDN | AI_CANONIDN))
    return EAI_BADFLAGS;
  if ((flags & AI_CANONNAME) && node == nullptr) return EAI_BADFLAGS;
  if (node == nullptr && service == nullptr) return EAI_NONAME;
  if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) return EAI_FAMILY;
  if (res == nullptr) return EAI_SYSTEM;

  Kind kinds[8];
  int nkinds = 0;
  if (const int err = service_kinds(service, socktype, protocol, flags, kinds, nkinds)) return err;

  Ip ips[kMaxAddresses];
  int n = 0;
  std::uint32_t scope = 0;
  bool literal = false;
  if (node == nullptr) {
    // glibc's answers for no node, IPv6 first: the wildcards to bind, or loopback to
    // connect to. (glibc's address sort moves :: last on a machine without IPv6; every
    // simulated host has it, and the in-process package answers the same.)
    Ip any4{AF_INET, {}}, any6{AF_INET6, {}}, lo4{AF_INET, {127, 0, 0, 1}}, lo6{AF_INET6, {}};
    lo6.bytes[15] = 1;
    if (flags & AI_PASSIVE) {
      ips[n++] = any6;
      ips[n++] = any4;
    } else {
      ips[n++] = lo6;
      ips[n++] = lo4;
    }
  } else if (parse_literal(node, ips[0], &scope)) {
    n = 1;
    literal = true;
  } else if (flags & AI_NUMERICHOST) {
    return EAI_NONAME;
  } else {
    n = resolve(node, ips, kMaxAddresses);
    if (n < 0) return n;
    if (n == 0) return EAI_NONAME;
  }
  n = filter_family(ips, n, family, flags);
  if (n == 0) return literal ? EAI_ADDRFAMILY : EAI_NONAME;

  addrinfo* head = nullptr;
  addrinfo** tail = &head;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < nkinds; ++j) {
      addrinfo* item = make_node(ips[i], kinds[j], scope);
      if (!item) {
        free_list(head);
        return EAI_MEMORY;
      }
      *tail = item;
      tail = &item->ai_next;
    }
  }
  if ((flags & AI_CANONNAME) && head) {
    head->ai_canonname = strdup(node);
    if (!head->ai_canonname) {
      free_list(head);
      return EAI_MEMORY;
    }
  }
  *res = head;
  return 0;
}

// ---------------------------------------------------------------- getnameinfo

int sim_getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen, char* serv,
                    socklen_t servlen, int flags) {
  if (flags & ~(NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM | NI_IDN))
    return EAI_BADFLAGS;
  if (sa == nullptr || salen < sizeof(sa_family_t)) return EAI_FAMILY;
  Ip ip{};
  int port = 0;
  std::uint32_t scope = 0;
  if (sa->sa_family == AF_INET) {
    if (salen < sizeof(sockaddr_in)) return EAI_FAMILY;
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ip.family = AF_INET;
    std::memcpy(ip.bytes, &in->sin_addr, 4);
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    if (salen < sizeof(sockaddr_in6)) return EAI_FAMILY;
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ip.family = AF_INET6;
    std::memcpy(ip.bytes, &in6->sin6_addr, 16);
    port = ntohs(in6->sin6_port);
    scope = in6->sin6_scope_id;
  } else {
    return EAI_FAMILY;
  }
  if (host == nullptr && serv == nullptr) return EAI_NONAME;
  if (host && hostlen > 0) {
    char name[NI_MAXHOST];
    bool named = false;
    if (!(flags & NI_NUMERICHOST)) named = reverse(ip, name, sizeof name);
    if (!named) {
      if (flags & NI_NAMEREQD) return EAI_NONAME;
      if (!inet_ntop(ip.family, ip.bytes, name, sizeof name)) return EAI_SYSTEM;
      if (scope) {
        const std::size_t used = std::strlen(name);
        std::snprintf(name + used, sizeof name - used, "%%%u", scope);
      }
    } else if (flags & NI_NOFQDN) {
      if (char* dot = std::strchr(name, '.')) *dot = '\0';
    }
    if (std::strlen(name) >= hostlen) return EAI_OVERFLOW;
    std::strcpy(host, name);
  }
  if (serv && servlen > 0) {
    char name[NI_MAXSERV];
    if ((flags & NI_NUMERICSERV) ||
        !find_service(nullptr, port, (flags & NI_DGRAM) ? "udp" : "tcp", nullptr, name, sizeof name))
      std::snprintf(name, sizeof name, "%d", port);
    if (std::strlen(name) >= servlen) return EAI_OVERFLOW;
    std::strcpy(serv, name);
  }
  return 0;
}

// ---------------------------------------------------------------- gethostby*

// Lays a hostent out in the caller's buffer (the _r functions) as glibc does: the
// addresses, the pointer arrays, then the name. ERANGE when it does not fit.
int fill_hostent(hostent* out, char* buf, std::size_t room, const char* name, int family,
                 const Ip* ips, int n) {
  const std::size_t size = static_cast<std::size_t>(ip_size(family));
  const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(buf);
  const std::uintptr_t aligned = (start + alignof(char*) - 1) & ~(alignof(char*) - 1);
  const std::size_t pad = aligned - start;
  const std::size_t name_size = std::strlen(name) + 1;
  const std::size_t need = pad + sizeof(char*) * (n + 2) + size * n + name_size;
  if (buf == nullptr || room < need) return ERANGE;
  char** pointers = reinterpret_cast<char**>(aligned);
  char** aliases = pointers + n + 1;
  char* data = reinterpret_cast<char*>(aliases + 1);
  for (int i = 0; i < n; ++i) {
    std::memcpy(data + i * size, ips[i].bytes, size);
    pointers[i] = data + i * size;
  }
  pointers[n] = nullptr;
  aliases[0] = nullptr;
  char* name_copy = data + n * size;
  std::memcpy(name_copy, name, name_size);
  out->h_name = name_copy;
  out->h_aliases = aliases;
  out->h_addrtype = family;
  out->h_length = static_cast<int>(size);
  out->h_addr_list = pointers;
  return 0;
}

// The lookup behind gethostbyname*: 0 and the addresses, or an h_errno value.
int lookup_host(const char* name, int family, Ip* ips, int& n) {
  if (name == nullptr || (family != AF_INET && family != AF_INET6)) return NO_RECOVERY;
  n = 0;
  if (parse_literal(name, ips[0])) {
    n = ips[0].family == family ? 1 : 0;
  } else {
    n = resolve(name, ips, kMaxAddresses);
    if (n < 0) return n == EAI_AGAIN ? TRY_AGAIN : HOST_NOT_FOUND;
    n = filter_family(ips, n, family, 0);
  }
  return n == 0 ? HOST_NOT_FOUND : 0;
}

int host_by_name_r(const char* name, int family, hostent* ret, char* buf, std::size_t buflen,
                   hostent** result, int* h_errnop) {
  *result = nullptr;
  Ip ips[kMaxAddresses];
  int n = 0;
  if (const int herr = lookup_host(name, family, ips, n)) {
    if (h_errnop) *h_errnop = herr;
    return 0;  // glibc: "not found" is no error of the call itself
  }
  if (fill_hostent(ret, buf, buflen, name, family, ips, n) != 0) {
    if (h_errnop) *h_errnop = NETDB_INTERNAL;
    errno = ERANGE;
    return ERANGE;
  }
  *result = ret;
  return 0;
}

int host_by_addr_r(const void* addr, socklen_t len, int type, hostent* ret, char* buf,
                   std::size_t buflen, hostent** result, int* h_errnop) {
  *result = nullptr;
  if (addr == nullptr || (type != AF_INET && type != AF_INET6)) {
    if (h_errnop) *h_errnop = NETDB_INTERNAL;
    errno = EAFNOSUPPORT;
    return EAFNOSUPPORT;
  }
  if (len != static_cast<socklen_t>(ip_size(type))) {
    if (h_errnop) *h_errnop = NETDB_INTERNAL;
    errno = EINVAL;
    return EINVAL;
  }
  Ip ip{};
  ip.family = type;
  std::memcpy(ip.bytes, addr, len);
  char name[NI_MAXHOST];
  if (!reverse(ip, name, sizeof name)) {
    if (h_errnop) *h_errnop = HOST_NOT_FOUND;
    return 0;
  }
  if (fill_hostent(ret, buf, buflen, name, type, &ip, 1) != 0) {
    if (h_errnop) *h_errnop = NETDB_INTERNAL;
    errno = ERANGE;
    return ERANGE;
  }
  *result = ret;
  return 0;
}

// The non-reentrant functions share one static entry, as glibc's do.
struct StaticHost {
  hostent entry;
  alignas(char*) char buffer[2048];
};
StaticHost g_host;

hostent* static_result(int r, hostent* result, int herr) {
  if (result) return result;
  h_errno = r == ERANGE ? NETDB_INTERNAL : herr;
  return nullptr;
}

}  // namespace
}  // namespace netsim::shim

using namespace netsim::shim;

#define NETSIM_EXPORT extern "C" __attribute__((visibility("default")))

NETSIM_EXPORT int getaddrinfo(const char* node, const char* service, const addrinfo* hints,
                              addrinfo** res) {
  if (my_slot() == nullptr)
    return real<int (*)(const char*, const char*, const addrinfo*, addrinfo**)>("getaddrinfo")(
        node, service, hints, res);
  return sim_getaddrinfo(node, service, hints, res);
}

// Frees lists from either implementation: both allocate a node and its address
// together and the canonical name apart.
NETSIM_EXPORT void freeaddrinfo(addrinfo* res) { free_list(res); }

NETSIM_EXPORT int getnameinfo(const sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen,
                              char* serv, socklen_t servlen, int flags) {
  if (my_slot() == nullptr || (sa && salen >= sizeof(sa_family_t) && sa->sa_family == AF_UNIX))
    return real<int (*)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int)>(
        "getnameinfo")(sa, salen, host, hostlen, serv, servlen, flags);
  return sim_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
}

NETSIM_EXPORT int gethostbyname2_r(const char* name, int af, hostent* ret, char* buf, size_t buflen,
                                   hostent** result, int* h_errnop) {
  if (my_slot() == nullptr)
    return real<int (*)(const char*, int, hostent*, char*, size_t, hostent**, int*)>(
        "gethostbyname2_r")(name, af, ret, buf, buflen, result, h_errnop);
  return host_by_name_r(name, af, ret, buf, buflen, result, h_errnop);
}

NETSIM_EXPORT int gethostbyname_r(const char* name, hostent* ret, char* buf, size_t buflen,
                                  hostent** result, int* h_errnop) {
  if (my_slot() == nullptr)
    return real<int (*)(const char*, hostent*, char*, size_t, hostent**, int*)>("gethostbyname_r")(
        name, ret, buf, buflen, result, h_errnop);
  return host_by_name_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

NETSIM_EXPORT int gethostbyaddr_r(const void* addr, socklen_t len, int type, hostent* ret, char* buf,
                                  size_t buflen, hostent** result, int* h_errnop) {
  if (my_slot() == nullptr)
    return real<int (*)(const void*, socklen_t, int, hostent*, char*, size_t, hostent**, int*)>(
        "gethostbyaddr_r")(addr, len, type, ret, buf, buflen, result, h_errnop);
  return host_by_addr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
}

NETSIM_EXPORT hostent* gethostbyname2(const char* name, int af) {
  if (my_slot() == nullptr) return real<hostent* (*)(const char*, int)>("gethostbyname2")(name, af);
  hostent* result = nullptr;
  int herr = 0;
  const int r = host_by_name_r(name, af, &g_host.entry, g_host.buffer, sizeof g_host.buffer, &result, &herr);
  return static_result(r, result, herr);
}

NETSIM_EXPORT hostent* gethostbyname(const char* name) {
  if (my_slot() == nullptr) return real<hostent* (*)(const char*)>("gethostbyname")(name);
  return gethostbyname2(name, AF_INET);
}

NETSIM_EXPORT hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
  if (my_slot() == nullptr)
    return real<hostent* (*)(const void*, socklen_t, int)>("gethostbyaddr")(addr, len, type);
  hostent* result = nullptr;
  int herr = 0;
  const int r = host_by_addr_r(addr, len, type, &g_host.entry, g_host.buffer, sizeof g_host.buffer,
                               &result, &herr);
  return static_result(r, result, herr);
}
