# Registers each Catch2 v2 test case of an executable as a CTest test. Run by
# catch_discover_tests() after every build (cmake -P), in place of Catch2's own
# CatchAddTests.cmake, which reads the list of names as a CMake list and so merges
# every name after one holding an unmatched '[' (e.g. "below(n) stays in [0, n)")
# into one bogus test that matches nothing. Here the names never pass through a
# CMake list unescaped.
#
# Takes the variables Catch.cmake passes: TEST_EXECUTABLE, TEST_EXECUTOR,
# TEST_WORKING_DIR, TEST_SPEC, TEST_EXTRA_ARGS, TEST_PROPERTIES, TEST_PREFIX,
# TEST_SUFFIX, TEST_LIST, TEST_REPORTER, CTEST_FILE. (OUTPUT_DIR is not supported.)

if(NOT EXISTS "${TEST_EXECUTABLE}")
  message(FATAL_ERROR "Test executable '${TEST_EXECUTABLE}' does not exist")
endif()

execute_process(
  COMMAND ${TEST_EXECUTOR} "${TEST_EXECUTABLE}" ${TEST_SPEC} --list-test-names-only
  OUTPUT_VARIABLE output
  RESULT_VARIABLE result
  WORKING_DIRECTORY "${TEST_WORKING_DIR}")
# Catch exits with the number of tests listed.
if(NOT result MATCHES "^[0-9]+$")
  message(FATAL_ERROR "Cannot list the tests of '${TEST_EXECUTABLE}': ${result}\n${output}")
elseif(result EQUAL 0)
  message(WARNING "Test executable '${TEST_EXECUTABLE}' contains no tests!")
endif()

# Hide the characters that CMake lists treat specially, split into lines, and
# bring them back one name at a time.
string(REPLACE "[" "<netsim-lb>" output "${output}")
string(REPLACE "]" "<netsim-rb>" output "${output}")
string(REPLACE ";" "<netsim-sc>" output "${output}")
string(REPLACE "\\" "<netsim-bs>" output "${output}")
string(REPLACE "\n" ";" lines "${output}")

# A bracket argument, so that any name survives the generated file.
function(_quote out value)
  set(${out} "[==[${value}]==]" PARENT_SCOPE)
endfunction()

set(extra "")
foreach(arg IN LISTS TEST_EXTRA_ARGS)
  _quote(q "${arg}")
  string(APPEND extra " ${q}")
endforeach()
if(TEST_REPORTER)
  string(APPEND extra " --reporter [==[${TEST_REPORTER}]==]")
endif()
set(props "")
foreach(prop IN LISTS TEST_PROPERTIES)
  _quote(q "${prop}")
  string(APPEND props " ${q}")
endforeach()

set(script "")
set(names "")
set(count 0)
foreach(line IN LISTS lines)
  string(REGEX REPLACE "\r$" "" line "${line}")
  if(line STREQUAL "")
    continue()
  endif()
  # Names starting with '#' are listed in quotes.
  if(line MATCHES "^\"(#.*)\"$")
    set(line "${CMAKE_MATCH_1}")
  endif()
  set(name "${line}")
  string(REPLACE "<netsim-lb>" "[" name "${name}")
  string(REPLACE "<netsim-rb>" "]" name "${name}")
  string(REPLACE "<netsim-sc>" ";" name "${name}")
  string(REPLACE "<netsim-bs>" "\\" name "${name}")
  # The test spec on Catch's command line: backslash-escape what Catch parses.
  set(spec "${name}")
  string(REPLACE "\\" "\\\\" spec "${spec}")
  foreach(char "," "[" "]" "\"" "*" "~")
    string(REPLACE "${char}" "\\${char}" spec "${spec}")
  endforeach()

  _quote(qname "${TEST_PREFIX}${name}${TEST_SUFFIX}")
  _quote(qexe "${TEST_EXECUTABLE}")
  _quote(qspec "${spec}")
  _quote(qdir "${TEST_WORKING_DIR}")
  set(executor "")
  foreach(arg IN LISTS TEST_EXECUTOR)
    _quote(q "${arg}")
    string(APPEND executor "${q} ")
  endforeach()
  string(APPEND script "add_test(${qname} ${executor}${qexe} ${qspec}${extra})\n")
  string(APPEND script "set_tests_properties(${qname} PROPERTIES WORKING_DIRECTORY ${qdir}${props})\n")
  string(APPEND names " ${qname}")
  math(EXPR count "${count} + 1")
endforeach()

# (Catch caps its exit code at 255.)
if(result LESS 255 AND NOT count EQUAL result)
  message(FATAL_ERROR "'${TEST_EXECUTABLE}' listed ${result} tests but ${count} names were read")
endif()

string(APPEND script "set(${TEST_LIST}${names})\n")
file(WRITE "${CTEST_FILE}" "${script}")
