#pragma once
// Short forms of the machine's paths in a transcript, so that the same run prints the
// same bytes from any checkout, user or Python installation: a traceback names the
// script by its absolute path and the standard library by its installation's.
#include <string>
#include <string_view>
#include <vector>

namespace netsim {

// A directory and what stands for it: "" for the working directory (paths under it
// become relative), "<stdlib>" for the standard library...
struct PathForm {
  std::string directory;  // absolute, without a trailing '/'
  std::string shown;
};

// The line with every path under a form's directory written with its short form
// ("/home/ann/tut/server.py" -> "server.py", ".../lib/python3.11/ssl.py" ->
// "<stdlib>/ssl.py"), the longest directory first; the directory alone becomes the
// form itself ("." for ""). A directory counts only as a whole path component: not
// inside a longer name ("/tmp/ab" for "/tmp/a") nor after one ("/x/tmp/a").
std::string shorten_paths(std::string_view line, const std::vector<PathForm>& forms);

}  // namespace netsim
