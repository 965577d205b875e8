# resp: the parser, the writer, and the parser checked against hiredis's reader.
# Included from tests/unit/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/unit.
foreach(name test_resp_parser test_resp_writer test_resp_hiredis_diff)
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/${name}.c)
  target_link_libraries(${name} PRIVATE resp)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()
# Only the differential test may see hiredis (STYLE.md: hiredis.h stays out of resp/).
target_link_libraries(test_resp_hiredis_diff PRIVATE PkgConfig::HIREDIS)
target_link_libraries(test_resp_writer PRIVATE m)
