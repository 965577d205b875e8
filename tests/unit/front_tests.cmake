# Unit tests of the coordinator's front end (server/), linked against the twopc_front
# library: only the modules a test uses are pulled in. fake_conn.c stands in for
# common/conn.c below the client layer (the linker takes it before the library's).
# Included from tests/unit/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/unit.
# One CTest test per case (twopc_unit in CMakeLists.txt).
set(TWOPC_REENCODE_CASES shape_of nulls unchanged map set_and_double incomplete
  one_element_at_a_time)
set(TWOPC_CLIENT_CASES out_of_order reverse_order immediate_waits park_until_writes_done
  pending_cap closed_client_drops resp3_reencode detached_slot)
set(TWOPC_REGISTRY_CASES unknown_command arity subcommands run_subcommand lookup_and_order
  help)
set(TWOPC_WATCH_CASES exact_touched unchanged_key conservative tx_op flush busy_tracking
  notify_and_sharing)

set(TWOPC_REDACT_CASES auth hello config others)
set(TWOPC_PUBSUB_CASES fan_out resp3_push unsubscribe_all output_class close_forgets)

foreach(exe reencode client registry watch redact pubsub)
  string(TOUPPER ${exe} upper)
  twopc_unit(${exe} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_${exe}.c
             ${CMAKE_CURRENT_SOURCE_DIR}/fake_conn.c LIBS twopc_front
             CASES ${TWOPC_${upper}_CASES})
endforeach()

# The include graph of resp/ common/ server/ replica/ has no cycle (the script's allowed
# list is empty); the self-test proves the check catches one.
add_test(NAME lint.include_cycles
         COMMAND ${TWOPC_TEST_PYTHON} ${CMAKE_SOURCE_DIR}/tests/lint/check_include_cycles.py
                 --root ${CMAKE_SOURCE_DIR})
add_test(NAME lint.include_cycles_selftest
         COMMAND ${TWOPC_TEST_PYTHON} ${CMAKE_SOURCE_DIR}/tests/lint/check_include_cycles.py
                 --root ${CMAKE_SOURCE_DIR} --self-test)
set_tests_properties(lint.include_cycles lint.include_cycles_selftest PROPERTIES
                     LABELS unit TIMEOUT 60)
