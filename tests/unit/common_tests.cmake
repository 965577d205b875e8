# Unit tests of common/: records (record.c), journals (journal.c), the config file reader
# and the cluster secret file (config.c, secret.c).
# Included from tests/unit/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/unit.
#
# One CTest test per case (record.crc, ...), so a failure names the case (twopc_unit).
set(TWOPC_RECORD_CASES
  crc known_encodings encode_appends every_byte empty_fields large_field many_fields
  decode_errors fields_free)
set(TWOPC_JOURNAL_CASES
  reopen unsynced_discarded large_and_many torn_every_offset torn_garbage corrupt_middle
  corrupt_lost_newline callback_stop sync_failure open_errors create_relative
  thread_group_commit thread_failure)
# test_journal_limits compiles its own copy of journal.c with a 4 KB line limit.
set(TWOPC_CONFIG_CASES good quoting errors include cycle split)
set(TWOPC_JOURNAL_LIMITS_CASES longest_accepted too_long_in_middle too_long_tail skip_memory_flat)

foreach(exe record journal journal_limits config)
  string(TOUPPER ${exe} upper)
  twopc_unit(${exe} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_${exe}.c LIBS common
             CASES ${TWOPC_${upper}_CASES})
endforeach()

# The cluster secret's proofs and file checks, the protocol range (secret.c, version.c).
twopc_unit(secret SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_secret.c LIBS common
           CASES proof nonce file_checks versions)
