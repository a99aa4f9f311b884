// HTTP/1.x requests in a client's byte stream, for matching request by request: a
// header that differs between runs (a date, a client's version) is left out, and
// nothing else. Requests only: the replies are played as recorded.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "cassette_internal.hpp"

namespace netsim::cassette {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// The header lines of a request head (after its request line).
std::vector<std::string_view> header_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  std::size_t start = head.find("\r\n");
  while (start != std::string_view::npos) {
    start += 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end == std::string_view::npos ? head.npos : end - start);
    if (!line.empty()) lines.push_back(line);
    start = end;
  }
  return lines;
}

// The length of a chunked body at the start of `body`; nullopt while incomplete.
std::optional<std::size_t> chunked_length(std::string_view body) {
  std::size_t at = 0;
  for (;;) {
    const std::size_t line_end = body.find("\r\n", at);
    if (line_end == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    std::from_chars(body.data() + at, body.data() + line_end, size, 16);
    at = line_end + 2;
    if (size == 0) {
      // Trailers, then an empty line.
      const std::size_t end = body.find("\r\n", at);
      if (end == std::string_view::npos) return std::nullopt;
      if (end == at) return at + 2;
      at = end + 2;
      continue;
    }
    if (body.size() < at + size + 2) return std::nullopt;
    at += size + 2;
  }
}

}  // namespace

std::optional<std::size_t> request_length(std::string_view stream) {
  const std::size_t head_end = stream.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  const std::size_t body_start = head_end + 4;
  for (const std::string_view line : header_lines(stream.substr(0, head_end))) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) {
      const auto body = chunked_length(stream.substr(body_start));
      if (!body) return std::nullopt;
      return body_start + *body;
    }
    if (name == "content-length") {
      std::size_t length = 0;
      std::from_chars(value.data(), value.data() + value.size(), length);
      if (stream.size() < body_start + length) return std::nullopt;
      return body_start + length;
    }
  }
  return body_start;
}

std::vector<std::string_view> requests(std::string_view stream) {
  std::vector<std::string_view> out;
  while (const auto length = request_length(stream)) {
    out.push_back(stream.substr(0, *length));
    stream.remove_prefix(*length);
  }
  return out;
}

std::vector<std::string> request_lines(std::string_view request, const std::vector<std::string>& ignored) {
  const std::size_t head_end = request.find("\r\n\r\n");
  const std::string_view head = request.substr(0, head_end);
  std::vector<std::string> lines{std::string(head.substr(0, head.find("\r\n")))};
  for (const std::string_view line : header_lines(head)) {
    const std::string name = lower(trim(line.substr(0, line.find(':'))));
    const bool skip = std::any_of(ignored.begin(), ignored.end(),
                                  [&](const std::string& other) { return lower(other) == name; });
    if (!skip) lines.emplace_back(line);
  }
  if (head_end != std::string_view::npos && head_end + 4 < request.size())
    lines.emplace_back(request.substr(head_end + 4));
  return lines;
}

std::string excerpt(std::string_view bytes, std::size_t offset, std::size_t limit) {
  std::string out = "\"";
  const std::string_view shown = offset < bytes.size() ? bytes.substr(offset, limit) : std::string_view{};
  for (const char c : shown) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '"' || c == '\\') out += {'\\', c};
    else if (byte < 0x20 || byte >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
    } else {
      out += c;
    }
  }
  out += '"';
  if (offset + limit < bytes.size()) out += "...";
  return out;
}

}  // namespace netsim::cassette
