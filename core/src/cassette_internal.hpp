#pragma once
// What the cassette's files share: the relay to a real service (cassette_relay.cpp),
// the player (cassette_play.cpp) and the HTTP/1.x request splitting it matches with
// (cassette_http.cpp).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netsim/cassette.hpp"
#include "netsim/sys.hpp"

namespace netsim::cassette {

// Relays connection `conn` of a program to the real service at `real` until both
// sides have closed, writing what each side sent into `log`. Returns why it could
// not ("" when it could).
std::string relay(Sys& sys, int conn, const Address& real, Conversation& log);

// Plays `recorded` to connection `conn`: each reply once the program has sent what
// came before it in the recording. Returns the first difference ("" when none);
// `label` names the connection in it.
std::string play(Sys& sys, int conn, const Conversation& recorded, const Options& options,
                 const std::string& label);

// The length of the first complete HTTP/1.x request in `stream` (headers and the body
// Content-Length or chunked encoding gives it); nullopt while it is incomplete.
std::optional<std::size_t> request_length(std::string_view stream);
// The complete requests at the start of `stream`.
std::vector<std::string_view> requests(std::string_view stream);
// A request as matching sees it: its lines, without the headers named in `ignored`.
std::vector<std::string> request_lines(std::string_view request, const std::vector<std::string>& ignored);

// At most `limit` bytes from `offset`, printable, in double quotes ("GET /a\r\n...").
std::string excerpt(std::string_view bytes, std::size_t offset, std::size_t limit = 40);

}  // namespace netsim::cassette
