#pragma once
// The children's /proc files, which vanish whenever the thread or process they describe
// ends, possibly in the middle of a read: every failure is an empty answer, never an
// exception.
#include <optional>
#include <string>
#include <string_view>

namespace netsim::shim {

// The text of a small /proc file; "" when it cannot be read (gone, or never there).
std::string read_proc(const std::string& path);

// Field `n` of a /proc/.../stat text, numbered as proc(5) numbers them (3 is the
// state); none when the text is cut short.
std::optional<std::string_view> stat_field(std::string_view stat, int n);

}  // namespace netsim::shim
