// ioctl(SIOCGIF*) on a socket: the simulated host's interfaces (the core's
// system_facts, carried in the region), loopback and eth0, as Linux describes its
// own. Programs ask for them to log their addresses (Flask's --debug, ifconfig).
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>

#include "shim.hpp"

namespace netsim::shim {
namespace {

const Region::Interface* named(const char* name) {
  for (const Region::Interface& interface : region().interfaces)
    if (interface.name[0] && strncmp(interface.name, name, IFNAMSIZ) == 0) return &interface;
  return nullptr;
}

void put_ipv4(struct sockaddr* out, std::uint32_t address) {
  auto* in = reinterpret_cast<struct sockaddr_in*>(out);
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = address;
}

// SIOCGIFCONF: the interfaces that have an IPv4 address, as many as fit.
long list(struct ifconf* conf) {
  int needed = 0;
  for (const Region::Interface& interface : region().interfaces)
    if (interface.name[0] && interface.ipv4) needed += sizeof(struct ifreq);
  if (!conf->ifc_buf) {
    conf->ifc_len = needed;
    return 0;
  }
  int used = 0;
  for (const Region::Interface& interface : region().interfaces) {
    if (!interface.name[0] || !interface.ipv4) continue;
    if (used + static_cast<int>(sizeof(struct ifreq)) > conf->ifc_len) break;
    auto* request = reinterpret_cast<struct ifreq*>(conf->ifc_buf + used);
    memset(request, 0, sizeof *request);
    memcpy(request->ifr_name, interface.name, sizeof interface.name);
    put_ipv4(&request->ifr_addr, interface.ipv4);
    used += sizeof(struct ifreq);
  }
  conf->ifc_len = used;
  return 0;
}

}  // namespace

long interface_ioctl(unsigned long request, long arg) {
  if (arg == 0) return -EFAULT;
  if (request == SIOCGIFCONF) return list(reinterpret_cast<struct ifconf*>(arg));
  auto* ifr = reinterpret_cast<struct ifreq*>(arg);
  if (request == SIOCGIFNAME) {
    for (const Region::Interface& interface : region().interfaces) {
      if (!interface.name[0] || interface.index != ifr->ifr_ifindex) continue;
      memcpy(ifr->ifr_name, interface.name, sizeof interface.name);
      return 0;
    }
    return -ENODEV;
  }
  const Region::Interface* interface = named(ifr->ifr_name);
  switch (request) {
    case SIOCGIFFLAGS: case SIOCGIFADDR: case SIOCGIFBRDADDR: case SIOCGIFNETMASK:
    case SIOCGIFMTU: case SIOCGIFHWADDR: case SIOCGIFINDEX:
      if (!interface) return -ENODEV;
      break;
    default:
      return unsupported("ioctl(SIOCSIF*, SIOCGIF* other than CONF, NAME, INDEX, FLAGS, ADDR, BRDADDR, "
                         "NETMASK, MTU, HWADDR): changing or querying interfaces so is not simulated");
  }
  switch (request) {
    case SIOCGIFFLAGS:
      ifr->ifr_flags = static_cast<short>(interface->flags);
      return 0;
    case SIOCGIFADDR:
      if (!interface->ipv4) return -EADDRNOTAVAIL;
      put_ipv4(&ifr->ifr_addr, interface->ipv4);
      return 0;
    case SIOCGIFBRDADDR:
      if (!interface->ipv4) return -EADDRNOTAVAIL;
      put_ipv4(&ifr->ifr_broadaddr,
               interface->flags & IFF_BROADCAST ? (interface->ipv4 | ~interface->netmask) : 0);
      return 0;
    case SIOCGIFNETMASK:
      if (!interface->ipv4) return -EADDRNOTAVAIL;
      put_ipv4(&ifr->ifr_netmask, interface->netmask);
      return 0;
    case SIOCGIFMTU:
      ifr->ifr_mtu = interface->mtu;
      return 0;
    case SIOCGIFHWADDR:
      memset(&ifr->ifr_hwaddr, 0, sizeof ifr->ifr_hwaddr);
      ifr->ifr_hwaddr.sa_family = interface->flags & IFF_LOOPBACK ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
      memcpy(ifr->ifr_hwaddr.sa_data, interface->mac, sizeof interface->mac);
      return 0;
    default:  // SIOCGIFINDEX
      ifr->ifr_ifindex = interface->index;
      return 0;
  }
}

}  // namespace netsim::shim
