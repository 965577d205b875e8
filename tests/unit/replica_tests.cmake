# Unit tests of replica/: the command evaluators on an in-memory store (test_exec) and the
# participant's state machine driven through peer_dispatch on an in-memory log and store
# (test_participant). Both link twopc_replica_core, the replica without its main.c.
# Included from tests/unit/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/unit.
# One CTest test per case (twopc_unit in CMakeLists.txt; an unknown case name fails).
set(TWOPC_EXEC_CASES redis_table under_chain failed_op_records_nothing)
set(TWOPC_PARTICIPANT_CASES
  vote_bytes pipelined_under abort_dooms commit_out_of_order stale_rid hello_in_doubt
  restart_replays power_loss torn_unsynced_tail peer_dispatch session_fence
  dump_restore_round_trip restore_refusals restore_crash)

foreach(exe exec participant)
  string(TOUPPER ${exe} upper)
  twopc_unit(${exe} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_${exe}.c
             LIBS twopc_replica_core twopc_sim_log CASES ${TWOPC_${upper}_CASES})
endforeach()
