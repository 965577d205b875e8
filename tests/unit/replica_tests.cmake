# Unit tests of replica/: the store's migration, numbered databases and sorted-set rank
# buckets (test_store), the command evaluators on an in-memory store (test_exec), the
# participant's state machine driven through peer_dispatch on an in-memory log and store
# (test_participant), and the replica's identity (test_identity: the store's rows,
# TPC.IDENTIFY, TPC.RESTORE's part, TPC.HELLO as the coordinator's link_reply.c reads it,
# TPC.NOTICE). They link twopc_replica_core, the replica without its main.c; the two
# participant tests share peer_harness.c.
# Included from tests/unit/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/unit.
# One CTest test per case (twopc_unit in CMakeLists.txt; an unknown case name fails).
set(TWOPC_EXEC_CASES redis_table under_chain failed_op_records_nothing bitfield_overflow
  bitfield_ops databases_under_chain databases_indexed_layer
  hash_layers zset_layers list_layers databases_collections hash_databases)
set(TWOPC_STORE_CASES migration databases zset_ranks zset_rank_levels)
set(TWOPC_PARTICIPANT_CASES
  vote_bytes pipelined_under abort_dooms commit_out_of_order stale_rid hello_in_doubt
  restart_replays power_loss torn_unsynced_tail peer_dispatch session_fence
  dump_restore_round_trip restore_refusals restore_crash)
set(TWOPC_IDENTITY_CASES store_rows store_power_loss identify identify_power_loss
  restore_identity hello_link_reply notice)

twopc_unit(exec SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_exec.c
           LIBS twopc_replica_core twopc_sim_log CASES ${TWOPC_EXEC_CASES})
twopc_unit(store SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_store.c
           LIBS twopc_replica_core twopc_sim_log CASES ${TWOPC_STORE_CASES})
twopc_unit(participant SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_participant.c
           ${CMAKE_CURRENT_SOURCE_DIR}/peer_harness.c
           LIBS twopc_replica_core twopc_sim_log CASES ${TWOPC_PARTICIPANT_CASES})
twopc_unit(identity SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_identity.c
           ${CMAKE_CURRENT_SOURCE_DIR}/peer_harness.c
           LIBS twopc_replica_core twopc_sim_log twopc_engine CASES ${TWOPC_IDENTITY_CASES})
