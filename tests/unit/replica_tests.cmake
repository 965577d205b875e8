# Unit tests of replica/: the command evaluators on an in-memory store (test_exec) and the
# participant's state machine driven through peer_dispatch on an in-memory log and store
# (test_participant). Both link twopc_replica_core, the replica without its main.c.
# Included from tests/unit/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/unit.
# One CTest test per case, as in common_tests.cmake (an unknown case name fails).
set(TWOPC_EXEC_CASES redis_table under_chain failed_op_records_nothing)
set(TWOPC_PARTICIPANT_CASES
  vote_bytes pipelined_under abort_dooms commit_out_of_order stale_rid hello_in_doubt
  restart_replays power_loss torn_unsynced_tail peer_dispatch)

foreach(exe exec participant)
  add_executable(test_${exe} ${CMAKE_CURRENT_SOURCE_DIR}/test_${exe}.c)
  target_link_libraries(test_${exe} PRIVATE twopc_replica_core)
  string(TOUPPER ${exe} upper)
  foreach(case ${TWOPC_${upper}_CASES})
    add_test(NAME ${exe}.${case} COMMAND test_${exe} ${case})
    set_tests_properties(${exe}.${case} PROPERTIES LABELS unit TIMEOUT 60)
  endforeach()
endforeach()
