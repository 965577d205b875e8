# Unit tests of common/: records (record.c) and journals (journal.c).
# Included from tests/unit/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/unit.
#
# Each executable runs every case when called without arguments, or the one case named by
# its argument; CTest registers one test per case (test_record.crc, ...), so a failure
# names the case. An unknown case name makes the executable fail, so this list cannot go
# stale silently.
set(TWOPC_RECORD_CASES
  crc known_encodings encode_appends every_byte empty_fields large_field many_fields
  decode_errors fields_free)
set(TWOPC_JOURNAL_CASES
  reopen unsynced_discarded large_and_many torn_every_offset torn_garbage corrupt_middle
  corrupt_lost_newline callback_stop sync_failure open_errors create_relative
  thread_group_commit thread_failure)
# test_journal_limits compiles its own copy of journal.c with a 4 KB line limit.
set(TWOPC_JOURNAL_LIMITS_CASES longest_accepted too_long_in_middle too_long_tail skip_memory_flat)

foreach(exe record journal journal_limits)
  add_executable(test_${exe} ${CMAKE_CURRENT_SOURCE_DIR}/test_${exe}.c)
  target_link_libraries(test_${exe} PRIVATE common)
  string(TOUPPER ${exe} upper)
  foreach(case ${TWOPC_${upper}_CASES})
    add_test(NAME ${exe}.${case} COMMAND test_${exe} ${case})
    set_tests_properties(${exe}.${case} PROPERTIES LABELS unit TIMEOUT 60)
  endforeach()
endforeach()
